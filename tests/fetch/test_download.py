from __future__ import annotations

import hashlib
import json

import pytest

from pna.fetch.download import FetchError, download


def test_an_interrupted_download_leaves_no_final_file_and_resumes_with_a_range_request(server, tmp_path):
    body = bytes(range(256)) * 4000   # ~1 MB
    server.files["/big.bin"] = body
    server.drop.add("/big.bin")
    with pytest.raises(FetchError) as err:
        download(url=server.url("/big.bin"), dest_dir=tmp_path)
    assert "run pna fetch again to resume" in str(err.value) and server.url("/big.bin") in str(err.value)
    assert not (tmp_path / "big.bin").exists()
    part = tmp_path / "big.bin.part"
    assert 0 < part.stat().st_size < len(body)
    got = part.stat().st_size
    d = download(url=server.url("/big.bin"), dest_dir=tmp_path)
    assert server.requests[-1] == ("/big.bin", f"bytes={got}-")
    assert d.resumed and d.path.read_bytes() == body and d.sha256 == hashlib.sha256(body).hexdigest()
    assert not part.exists()
    meta = json.loads((tmp_path / "big.bin.json").read_text())
    assert meta["url"] == server.url("/big.bin") and meta["size"] == len(body)


def test_a_second_fetch_reuses_the_download_unless_refreshed(server, tmp_path):
    server.files["/a.bin"] = b"x" * 1000
    first = download(url=server.url("/a.bin"), dest_dir=tmp_path)
    n = len(server.requests)
    again = download(url=server.url("/a.bin"), dest_dir=tmp_path)
    assert again.reused and again.downloaded_at == first.downloaded_at and len(server.requests) == n
    download(url=server.url("/a.bin"), dest_dir=tmp_path, refresh=True)
    assert len(server.requests) == n + 1


def test_404_names_the_url_and_what_to_do(server, tmp_path):
    with pytest.raises(FetchError) as err:
        download(url=server.url("/missing.zip"), dest_dir=tmp_path)
    msg = str(err.value)
    assert "HTTP 404" in msg and server.url("/missing.zip") in msg and "--from-dir" in msg and "\n" not in msg
    assert not list(tmp_path.iterdir()) or not (tmp_path / "missing.zip").exists()


def test_a_wrong_checksum_or_failed_check_keeps_no_file(server, tmp_path):
    server.files["/f.bin"] = b"hello"
    with pytest.raises(FetchError, match="MD5"):
        download(url=server.url("/f.bin"), dest_dir=tmp_path, md5="0" * 32)
    assert not (tmp_path / "f.bin").exists() and not (tmp_path / "f.bin.part").exists()
    ok = download(url=server.url("/f.bin"), dest_dir=tmp_path, md5=hashlib.md5(b"hello").hexdigest())
    assert ok.path.read_bytes() == b"hello"
    with pytest.raises(FetchError, match="not wanted"):
        download(url=server.url("/f.bin"), dest_dir=tmp_path / "b", check=lambda p: "not wanted")
    assert not (tmp_path / "b" / "f.bin").exists()


def test_a_refused_connection_is_a_clear_error(tmp_path):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()   # nothing listens on it now
    with pytest.raises(FetchError, match="cannot connect"):
        download(url=f"http://127.0.0.1:{port}/x.zip", dest_dir=tmp_path, timeout=5)
