"""Streaming downloads into the cache: resumable, checked, and never a half file under its final name.

A download is written to ``<name>.part`` and renamed only once its size (``Content-Length``),
its published checksum (if any) and its content check pass. A dropped connection keeps the part
file and the next attempt asks for the rest with a ``Range`` request (``If-Range`` on the
validator the server sent, so a changed file starts over). ``<name>.json`` beside a finished
file records its URL, the time the download finished and its SHA-256, which the overlay and
``run.json`` quote.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import http.client
import json
import logging
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from ..errors import PnaError
from ..io import file_sha256

__all__ = ["FetchError", "Downloaded", "download", "file_name"]

log = logging.getLogger("pna")

_CHUNK = 1 << 16


class FetchError(PnaError):
    """A download failed or sent something unusable; the message says which URL, why, and what to do.

    Parameters
    ----------
    message
        The whole message.
    why
        The reason alone (e.g. ``HTTP 404 Not Found``), for callers that quote it.
    """

    def __init__(self, message: str, why: str | None = None) -> None:
        super().__init__(message)
        self.why = why or message


@dataclass(frozen=True)
class Downloaded:
    """One file in the download cache.

    Attributes
    ----------
    path
        The file (final name).
    url
        Where it came from.
    downloaded_at
        When its download finished (UTC, ISO 8601 to the second).
    sha256
        Its SHA-256.
    size
        Its length in bytes.
    reused
        True if an earlier download was used, without asking the server.
    resumed
        True if this download continued a part file left by an interrupted one.
    """

    path: Path
    url: str
    downloaded_at: str
    sha256: str
    size: int
    reused: bool = False
    resumed: bool = False


def file_name(url: str) -> str:
    """A cache file name for ``url``: its last path component, else its host and path joined."""
    parts = urlsplit(url)
    segs = [s for s in parts.path.split("/") if s]
    name = segs[-1] if segs else parts.hostname or "download"
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _hint(dest: Path) -> str:
    return (f"download it by hand and save it as {dest}, or put the files in a folder and run "
            "pna fetch --from-dir FOLDER")


def _meta(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class _Progress:
    """A one-line bar on a terminal; otherwise a log line at each quarter."""

    def __init__(self, name: str, total: int | None, start: int) -> None:
        self.name, self.total, self.done = name, total, start
        self.tty = sys.stderr.isatty() and log.isEnabledFor(logging.INFO)
        self.shown = -1

    def add(self, n: int) -> None:
        self.done += n
        if not self.total:
            return
        pct = int(100 * self.done / self.total)
        if self.tty:
            if pct != self.shown:
                bar = "#" * (pct // 4)
                sys.stderr.write(f"\r[pna] {self.name} [{bar:<25}] {pct:3d}% of {self.total / 1e6:,.1f} MB")
                sys.stderr.flush()
        elif pct // 25 != self.shown // 25 and pct < 100:
            log.info("downloading %s: %d%% of %.1f MB", self.name, pct, self.total / 1e6)
        self.shown = pct

    def close(self) -> None:
        if self.tty and self.total:
            sys.stderr.write("\n")


def _open(url: str, *, start: int, validator: str | None, timeout: float, dest: Path) -> Any:
    req = urllib.request.Request(url, headers={"User-Agent": "pna-fetch/1 (Pharmaceutical Needs Assessment)"})
    if start:
        req.add_header("Range", f"bytes={start}-")
        if validator:
            req.add_header("If-Range", validator)
    try:
        return urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 (the URLs are the config's)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start:
            return None  # the part is already whole (or longer than the file): start again
        why = f"the server answered HTTP {exc.code} {exc.reason}"
        raise FetchError(f"{url}: {why}: {_hint(dest)}", why) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise FetchError(f"{url}: cannot connect ({reason}): check the address and any proxy "
                         f"(the https_proxy variable), or {_hint(dest)}", f"cannot connect ({reason})") from None


def download(*, url: str, dest_dir: Path, name: str | None = None, refresh: bool = False, timeout: float = 60.0,
             md5: str | None = None, check: Callable[[Path], str | None] | None = None) -> Downloaded:
    """Download ``url`` into ``dest_dir`` (or reuse an earlier download of the same URL).

    Parameters
    ----------
    url
        What to download (http, https or file).
    dest_dir
        The download cache folder (created if missing).
    name
        The file name (default: the URL's last component).
    refresh
        Download again even if the file is in the cache.
    timeout
        Seconds to wait for the connection or for more data.
    md5
        The published MD5 (hex), checked before the file takes its final name.
    check
        Returns why a downloaded file is unusable (e.g. not a zip), or None; run on the part file.

    Returns
    -------
    Downloaded

    Raises
    ------
    FetchError
        On an HTTP error, a connection failure, a dropped connection (the part file is kept
        for a resume), a size or checksum mismatch, or a failed ``check``.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / (name or file_name(url))
    meta = _meta(dest)
    if not refresh and dest.is_file() and meta.is_file():
        rec = json.loads(meta.read_text(encoding="utf-8"))
        if rec.get("url") == url and rec.get("size") == dest.stat().st_size:
            log.info("%s: using the download of %s (pna fetch --refresh downloads it again)", dest.name,
                     rec["downloaded_at"])
            return Downloaded(dest, url, rec["downloaded_at"], rec["sha256"], rec["size"], reused=True)
    part = dest.with_name(dest.name + ".part")
    part_meta = _meta(part)
    start, validator = 0, None
    if part.is_file() and part_meta.is_file() and not refresh:
        rec = json.loads(part_meta.read_text(encoding="utf-8"))
        if rec.get("url") == url:
            start, validator = part.stat().st_size, rec.get("validator")
    resp = _open(url, start=start, validator=validator, timeout=timeout, dest=dest)
    if resp is None:
        start, validator = 0, None
        resp = _open(url, start=0, validator=None, timeout=timeout, dest=dest)
    with resp:
        status = getattr(resp, "status", 200)
        resumed = bool(start) and status == 206 and _range_start(resp.headers.get("Content-Range")) == start
        if not resumed:
            start = 0
        length = resp.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else None
        validator = resp.headers.get("ETag") or resp.headers.get("Last-Modified")
        part_meta.write_text(json.dumps({"url": url, "validator": validator}), encoding="utf-8")
        if resumed:
            log.info("%s: resuming after %s bytes", dest.name, f"{start:,}")
        bar = _Progress(dest.name, total, start)
        try:
            with part.open("ab" if resumed else "wb") as out:
                _copy(resp, out, bar)
        except (OSError, http.client.HTTPException) as exc:
            got = part.stat().st_size if part.exists() else 0
            raise FetchError(f"{url}: the download stopped after {got:,} bytes ({exc}); the part is kept as "
                             f"{part}: run pna fetch again to resume, or {_hint(dest)}") from None
        finally:
            bar.close()
    got = part.stat().st_size
    if total is not None and got != total:
        raise FetchError(f"{url}: the connection closed after {got:,} of {total:,} bytes; the part is kept as "
                         f"{part}: run pna fetch again to resume, or {_hint(dest)}")
    _verify(part, url=url, md5=md5, check=check, dest=dest)
    digest = file_sha256(part)
    when = _now()
    os.replace(part, dest)
    meta_tmp = meta.with_name(meta.name + ".tmp")
    meta_tmp.write_text(json.dumps({"url": url, "downloaded_at": when, "sha256": digest, "size": got,
                                    "last_modified": _http_date(resp.headers.get("Last-Modified"))},
                                   indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(meta_tmp, meta)
    part_meta.unlink(missing_ok=True)
    return Downloaded(dest, url, when, digest, got, resumed=resumed)


def _copy(resp: IO[bytes], out: IO[bytes], bar: _Progress) -> None:
    while True:
        block = resp.read(_CHUNK)
        if not block:
            return
        out.write(block)
        bar.add(len(block))


def _range_start(header: str | None) -> int | None:
    """The first byte of ``Content-Range: bytes START-END/TOTAL``."""
    if not header or not header.startswith("bytes "):
        return None
    first = header[6:].split("-", 1)[0]
    return int(first) if first.isdigit() else None


def _http_date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    except (TypeError, ValueError):
        return None


def _verify(part: Path, *, url: str, md5: str | None, check: Callable[[Path], str | None] | None,
            dest: Path) -> None:
    """Raise (removing the part, which cannot be resumed into a good file) if it fails a check."""
    problem = None
    if md5 is not None:
        h = hashlib.md5(usedforsecurity=False)
        with part.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        if h.hexdigest() != md5.lower():
            problem = f"its MD5 is {h.hexdigest()}, not the published {md5.lower()} (corrupted in transit?)"
    if problem is None and check is not None:
        problem = check(part)
    if problem is not None:
        part.unlink(missing_ok=True)
        _meta(part).unlink(missing_ok=True)
        raise FetchError(f"{url}: {problem}: {_hint(dest)}")
