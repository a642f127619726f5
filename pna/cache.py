"""Reuse of derived files whose inputs have not changed: content fingerprints and a folder store.

A *fingerprint* is a SHA-256 over the content of Python objects (frames, arrays, geometries,
dataclasses, pydantic models, mappings ...), independent of object identity, process and hash
seed, so the same content gives the same key in any run. The *code version* folds in every
source file of the ``pna`` package, the installed distributions and the Chromium binary that
prints the PDF: a new release or library rebuilds everything.

:func:`cached_frames` keeps parsed inputs (the list, ODS, postcodes, populations) as Parquet,
keyed by the SHA-256 of the files read, the parameters and the code version, with the
exceptions and row accounting the parse recorded, replayed on every reuse.

A :class:`FolderStore` keeps, per key, a set of files with their SHA-256 and a small JSON
payload. An entry is written to a scratch folder and renamed into place, so a killed run leaves
no entry that looks complete; an entry whose files no longer match their digests is discarded
and rebuilt. Restored files are copies, never links, so editing an output cannot alter the cache.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import json
import logging
import os
import shutil
import struct
import tempfile
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from importlib import metadata
from pathlib import Path, PurePath
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from .io import file_sha256
from .quality import Accounting, QualityLog

__all__ = ["FolderStore", "cached_frames", "code_version", "fingerprint", "Unhashable"]

log = logging.getLogger(__name__)

PACKAGE = Path(__file__).resolve().parent
#: Files of the package whose content shapes outputs (code, templates, styles, scripts, vendored assets).
CODE_SUFFIXES = (".py", ".j2", ".html", ".css", ".js", ".yaml", ".json", ".txt")
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


class Unhashable(TypeError):
    """An object whose content cannot be fingerprinted (the caller then builds without the cache)."""


# --------------------------------------------------------------------------- fingerprints
def _frame_bytes(h: Any, obj: pd.DataFrame | pd.Series | pd.Index, feed: Callable[[Any], None]) -> None:
    if isinstance(obj, pd.Index):
        h.update(b"I" + str(obj.dtype).encode() + str(obj.names).encode())
        _values(h, obj, feed)
        return
    if isinstance(obj, pd.Series):
        h.update(b"S" + repr(obj.name).encode())
        _values(h, obj.array, feed)
        feed(obj.index)
        return
    h.update(b"F" + type(obj).__name__.encode())
    crs = getattr(obj, "crs", None) if "geometry" in obj.columns else None
    h.update(str(crs).encode())
    for name in obj.columns:
        h.update(b"C" + repr(name).encode() + str(obj[name].dtype).encode())
        _values(h, obj[name].array, feed)
    feed(obj.index)
    feed(dict(obj.attrs))


def _values(h: Any, values: Any, feed: Callable[[Any], None]) -> None:
    """The content of one column (numpy, pandas extension or geometry array)."""
    dtype = getattr(values, "dtype", None)
    if str(dtype) == "geometry":
        import shapely  # only geometry columns need it

        wkb = shapely.to_wkb(np.asarray(values, dtype=object), hex=False, include_srid=False)
        for g in wkb:
            h.update(b"-" if g is None else struct.pack("<q", len(g)) + g)
        return
    arr = np.asarray(values)
    if arr.dtype.kind in "biufcmM":
        h.update(arr.dtype.str.encode() + struct.pack("<q", arr.size))
        h.update(np.ascontiguousarray(arr).tobytes())
        return
    _objects(h, arr.ravel(), feed)


def _objects(h: Any, arr: np.ndarray, feed: Callable[[Any], None]) -> None:
    """An object array: text columns (with gaps) in one pass, anything else item by item."""
    missing = pd.isna(arr) if arr.size else np.zeros(0, dtype=bool)
    if arr.size and pd.api.types.infer_dtype(arr, skipna=True) == "string":
        h.update(b"T" + np.packbits(missing).tobytes() + struct.pack("<q", arr.size))
        h.update("\x1f".join(arr[~missing].tolist()).encode("utf-8", "surrogatepass"))
        return
    items = arr.tolist()
    if items and all(type(v) is tuple for v in items):
        # Tuples of plain values (opening intervals): JSON in one call instead of an item at a time.
        # json tells int, float, str, bool and None apart and refuses anything else.
        try:
            text = json.dumps(items, allow_nan=True)
        except (TypeError, ValueError):
            pass
        else:
            h.update(b"J" + struct.pack("<q", len(items)) + text.encode("utf-8", "surrogatepass"))
            return
    for v in items:
        feed(v)


def fingerprint(obj: Any, *, skip: frozenset[str] = frozenset(), relative_to: Path | None = None) -> str:
    """SHA-256 (hex) of the content of ``obj``.

    Parameters
    ----------
    obj
        Frames, series, arrays, sparse matrices, geometries, dataclasses, pydantic models,
        mappings, sequences, sets, paths, dates and scalars, nested in any way; other objects
        by their attributes.
    skip
        Attribute or field names left out wherever they occur (e.g. an output folder that differs
        between runs but does not change what is written).
    relative_to
        Paths under this folder count by their place in it (a run writes into a scratch folder
        whose name differs from run to run).

    Raises
    ------
    Unhashable
        If some part has no content to hash (an open file, a lock, a generator).
    """
    h = hashlib.sha256()
    # Objects seen so far, kept alive so that no temporary made during the walk can reuse an id.
    seen: dict[int, tuple[int, Any]] = {}

    def feed(o: Any) -> None:
        if o is None or isinstance(o, (bool, int, float, complex, str, bytes)):
            h.update(type(o).__name__.encode() + b":" + (o if isinstance(o, bytes) else repr(o).encode()) + b";")
            return
        if isinstance(o, (np.generic,)):
            feed(o.item())
            return
        if isinstance(o, PurePath) and relative_to is not None and Path(o).is_relative_to(relative_to):
            h.update(b"Out:" + str(Path(o).relative_to(relative_to)).encode() + b";")
            return
        if isinstance(o, (dt.date, dt.time, dt.timedelta, PurePath, enum.Enum, pd.Timestamp, pd.Timedelta)):
            h.update(type(o).__name__.encode() + b":" + str(o).encode() + b";")
            return
        if o is pd.NaT or o is pd.NA:
            h.update(b"NA;")
            return
        if type(o) is tuple:  # immutable, so never part of a cycle: by content, shared or not
            h.update(b"<tuple" + str(len(o)).encode())
            for v in o:
                feed(v)
            h.update(b">")
            return
        k = id(o)
        if k in seen:  # shared or cyclic reference: by position of first sight
            h.update(b"@" + str(seen[k][0]).encode())
            return
        seen[k] = (len(seen), o)
        h.update(b"<" + type(o).__qualname__.encode())
        if isinstance(o, (pd.DataFrame, pd.Series, pd.Index)):
            _frame_bytes(h, o, feed)
        elif isinstance(o, np.ndarray):
            if o.dtype.kind == "O":
                h.update(str(o.shape).encode())
                _objects(h, o.ravel(), feed)
            else:
                _values(h, o, feed)
                h.update(str(o.shape).encode())
        elif hasattr(o, "tocsr") and hasattr(o, "indptr"):  # scipy.sparse compressed matrix
            feed(o.shape)
            for part in (o.data, o.indices, o.indptr):
                feed(part)
        elif hasattr(o, "leafsize") and hasattr(o, "data") and hasattr(o, "query"):  # scipy k-d tree
            feed((o.leafsize, np.asarray(o.data)))
        elif type(o).__module__.startswith("shapely"):
            import shapely

            h.update(shapely.to_wkb(o))
        elif isinstance(o, Mapping):
            items = sorted(((fingerprint_key(kk), kk, v) for kk, v in o.items() if str(kk) not in skip),
                           key=lambda t: t[0])
            for _, kk, v in items:
                feed(kk)
                feed(v)
        elif isinstance(o, (list, tuple)):
            h.update(str(len(o)).encode())
            for v in o:
                feed(v)
        elif isinstance(o, (set, frozenset)):
            for d in sorted(fingerprint(v, skip=skip, relative_to=relative_to) for v in o):
                h.update(d.encode())
        elif dataclasses.is_dataclass(o) and not isinstance(o, type):
            for f in dataclasses.fields(o):
                if f.name not in skip:
                    h.update(f.name.encode())
                    feed(getattr(o, f.name))
        elif hasattr(type(o), "model_fields") and hasattr(o, "model_dump"):  # pydantic
            for name in sorted(type(o).model_fields):
                if name not in skip:
                    h.update(name.encode())
                    feed(getattr(o, name))
        elif callable(o) and hasattr(o, "__qualname__"):  # functions, classes: the code version covers them
            h.update(f"{getattr(o, '__module__', '')}.{o.__qualname__}".encode())
        elif hasattr(o, "__dict__") or hasattr(o, "__slots__"):
            state = dict(vars(o)) if hasattr(o, "__dict__") else {}
            for s in getattr(type(o), "__slots__", ()):
                if hasattr(o, s):
                    state[s] = getattr(o, s)
            if not state and not isinstance(o, (pd.api.extensions.ExtensionArray,)):
                raise Unhashable(f"no content to fingerprint in {type(o).__qualname__}")
            feed({kk: v for kk, v in state.items() if not kk.startswith("_abc")})
        else:
            raise Unhashable(f"cannot fingerprint {type(o).__qualname__}")
        h.update(b">")

    feed(obj)
    return h.hexdigest()


def fingerprint_key(k: Any) -> str:
    """Sort key of a mapping key: its type and text (keys of one mapping are few and simple)."""
    return f"{type(k).__name__}:{k!r}"


@lru_cache(maxsize=1)
def code_version() -> str:
    """SHA-256 over the package's source files, the installed distributions and the PDF printer."""
    h = hashlib.sha256()
    for p in sorted(PACKAGE.rglob("*")):
        if p.is_file() and p.suffix in CODE_SUFFIXES and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(PACKAGE)).encode() + b"\0" + p.read_bytes() + b"\0")
    dists = sorted({(d.metadata["Name"] or "", d.version) for d in metadata.distributions()})
    h.update(json.dumps(dists).encode())
    for c in CHROMIUM:
        if os.path.isfile(c):
            st = os.stat(os.path.realpath(c))
            h.update(f"{c}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


# --------------------------------------------------------------------------- the store
@dataclasses.dataclass(frozen=True)
class FolderStore:
    """Entries of files under ``root/<kind>/<key>/``, each with a ``manifest.json``.

    Attributes
    ----------
    root
        Cache folder (e.g. ``cfg.cache``); None disables the store (nothing is read or kept).
    kind
        Sub-folder naming what is stored (e.g. ``"report"``).
    keep
        Entries kept per kind; older ones (by last use) are removed when a new one is stored.
    """

    root: Path | None
    kind: str
    keep: int = 4

    @property
    def folder(self) -> Path | None:
        """Where this kind's entries live (None: store disabled)."""
        return None if self.root is None else Path(self.root) / self.kind

    def restore(self, key: str, dest: Path) -> dict[str, Any] | None:
        """Copy entry ``key``'s files into ``dest``; its payload, or None if absent or damaged."""
        found = self.open(key)
        if found is None:
            return None
        entry, files, payload = found
        for rel in files:
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(entry / "files" / rel, target)
        return payload

    def open(self, key: str) -> tuple[Path, list[str], dict[str, Any]] | None:
        """Entry ``key``'s folder, files and payload, checked against their digests (None: absent or damaged).

        Its files are under ``<folder>/files``; read them, never change them.
        """
        if self.folder is None:
            return None
        entry = self.folder / key
        try:
            manifest = json.loads((entry / "manifest.json").read_text(encoding="utf-8"))
            files: dict[str, str] = manifest["files"]
            for rel, digest in files.items():
                if file_sha256(entry / "files" / rel) != digest:
                    raise ValueError(f"{rel} does not match its digest")
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("cache entry %s is damaged (%s); rebuilding", entry, exc)
            shutil.rmtree(entry, ignore_errors=True)
            return None
        os.utime(entry)  # last use, for pruning
        payload: dict[str, Any] = manifest.get("payload", {})
        return entry, sorted(files), payload

    def store(self, key: str, src: Path, files: list[str], payload: Mapping[str, Any]) -> None:
        """Keep copies of ``files`` (paths relative to ``src``) and ``payload`` as entry ``key``."""
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        scratch = self.folder / f".{key}.tmp-{os.getpid()}"
        shutil.rmtree(scratch, ignore_errors=True)
        try:
            digests = {}
            for rel in sorted(files):
                target = scratch / "files" / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src / rel, target)
                digests[rel] = file_sha256(target)
            (scratch / "manifest.json").write_text(
                json.dumps({"files": digests, "payload": dict(payload)}, sort_keys=True, indent=1), encoding="utf-8")
            final = self.folder / key
            shutil.rmtree(final, ignore_errors=True)
            os.replace(scratch, final)
        except OSError as exc:  # a full disk or a read-only cache must not fail the run
            log.warning("could not keep %s in the cache (%s)", self.kind, exc)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        self._prune()

    def _prune(self) -> None:
        assert self.folder is not None
        entries = sorted((p for p in self.folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
                         key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in entries[self.keep:]:
            shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------- parsed inputs
T = TypeVar("T")


@lru_cache(maxsize=256)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    """SHA-256 of a file, once per process for an unchanged file (the key of several reads)."""
    return file_sha256(path)


def _file_key(p: Path | None) -> list[Any]:
    if p is None:
        return ["none"]
    p = Path(p)
    if not p.is_file():
        return [str(p), "missing"]
    st = p.stat()
    return [str(p.resolve()), _digest(str(p), st.st_size, st.st_mtime_ns)]


def _parts(value: Any) -> tuple[list[Any], bool] | None:
    """``value`` as a list of frames and JSON scalars, and whether it was a tuple (None: not storable)."""
    items = list(value) if isinstance(value, tuple) else [value]
    for v in items:
        if isinstance(v, pd.DataFrame):
            try:
                json.dumps(v.attrs)
            except TypeError:
                return None
        elif not (v is None or isinstance(v, (bool, int, float, str))):
            return None
    return items, isinstance(value, tuple)


def _tuple_columns(df: pd.DataFrame) -> list[str]:
    """Object columns holding tuples (opening intervals): Parquet would read them back as arrays."""
    out = []
    for c in df.columns:
        if df[c].dtype == object:
            present = df[c].dropna()
            if len(present) and all(isinstance(v, tuple) for v in present.tolist()):
                out.append(str(c))
    return out


def _as_tuple(v: Any) -> Any:
    return tuple(_as_tuple(x) for x in v) if isinstance(v, list) else v


def _write_parts(items: list[Any], folder: Path) -> tuple[list[str], list[Any]]:
    files, layout = [], []
    for i, v in enumerate(items):
        if isinstance(v, pd.DataFrame):
            name = f"{i}.parquet"
            geo = "geometry" in v.columns and hasattr(v, "crs")
            tuples = _tuple_columns(v)
            if tuples:  # as JSON text, made tuples again on reading
                v = v.copy()
                for c in tuples:
                    v[c] = [None if t is None else json.dumps(t) for t in v[c].tolist()]
            # index=None: a RangeIndex is kept as a range, any other index as columns
            v.to_parquet(folder / name, index=None, **({} if geo else {"engine": "pyarrow"}))
            files.append(name)
            # Parquet reads text back as str: columns that were object are made object again
            objects = [str(c) for c in v.columns if v[c].dtype == object and str(c) not in tuples]
            # ... with their gaps as None where every gap was None (Parquet reads them back as NaN)
            nones = [c for c in objects if v[c].isna().any() and all(x is None for x in v[c][v[c].isna()])]
            layout.append({"frame": name, "geo": geo, "attrs": v.attrs, "tuples": tuples, "objects": objects,
                           "nones": nones, "crs": v.crs.srs if geo and v.crs is not None else None})
        else:
            layout.append({"value": v})
    return files, layout


def _read_parts(folder: Path, layout: list[Any]) -> list[Any]:
    out: list[Any] = []
    for part in layout:
        if "value" in part:
            out.append(part["value"])
            continue
        if part["geo"]:
            import geopandas as gpd  # only boundaries need it

            df = gpd.read_parquet(folder / part["frame"])
            if part.get("crs"):  # as it was given ("EPSG:27700"), not as GeoParquet's PROJJSON spells it
                df = df.set_crs(part["crs"], allow_override=True)
        else:
            df = pd.read_parquet(folder / part["frame"], engine="pyarrow")
        for c in part.get("objects", ()):
            if df[c].dtype != object:
                df[c] = df[c].astype(object)
        for c in part.get("nones", ()):
            df[c] = df[c].where(df[c].notna(), None)
        for c in part.get("tuples", ()):
            texts = df[c].tolist()
            decoded = {t: _as_tuple(json.loads(t)) for t in set(texts) if t is not None}  # few distinct values
            df[c] = pd.Series([None if t is None else decoded[t] for t in texts], index=df.index, dtype=object)
        df.attrs.update(part["attrs"])
        out.append(df)
    return out


def _replay(quality: QualityLog | None, records: list[dict[str, Any]], accounts: Mapping[str, dict[str, Any]]) -> None:
    """Add a parse's exceptions and row accounting (as kept in an entry's payload) to ``quality``."""
    if quality is None:
        return
    quality.records.extend(dict(r) for r in records)
    for key, a in accounts.items():
        quality.accounts[key] = Accounting(**a)


def cached_frames(root: Path | None, kind: str, *, files: Sequence[Path | None], params: Any = None,
                  quality: QualityLog | None, build: Callable[[QualityLog], T]) -> T:
    """``build``'s frames, read back from the input cache when nothing they come from has changed.

    Parameters
    ----------
    root
        Cache folder (``cfg.cache``); None always builds.
    kind
        What is parsed (a folder name under ``<root>/inputs``), e.g. ``"pharmaceutical-list"``.
    files
        Every file ``build`` reads; the key holds each one's path and SHA-256 (a missing file counts
        as missing, so adding it later rebuilds).
    params
        Anything else the result depends on (fingerprinted), e.g. a code prefix or a list of LSOAs.
    quality
        Receives the exceptions and row accounting ``build`` records, on a build and on every reuse.
    build
        Parses the files, recording into the log it is given; returns a frame or a tuple of frames
        and JSON scalars.

    Returns
    -------
    T
        What ``build`` returns, exactly: a result is kept only if it reads back from Parquet with the
        same fingerprint (same values, types, gaps, index, CRS and ``attrs``); otherwise it is
        rebuilt every time.
    """
    store = FolderStore(None if root is None else Path(root) / "inputs", kind, keep=8)
    key = None
    if store.folder is not None:
        try:
            key = fingerprint((code_version(), kind, [_file_key(p) for p in files], params))
        except Unhashable as exc:
            log.debug("%s is parsed without the cache (%s)", kind, exc)
    if key is not None and (found := store.open(key)) is not None:
        entry, _, payload = found
        try:
            items = _read_parts(entry / "files", payload["layout"])
        except (OSError, ValueError, KeyError, TypeError, ImportError) as exc:
            log.warning("input cache entry %s cannot be read (%s); rebuilding", entry, exc)
        else:
            _replay(quality, payload["records"], payload["accounts"])
            log.debug("%s: parsed input read from the cache", kind)
            return tuple(items) if payload["tuple"] else items[0]  # type: ignore[return-value]
    sub = QualityLog()
    result = build(sub)
    accounts = {k: dataclasses.asdict(a) for k, a in sub.accounts.items()}
    _replay(quality, sub.records, accounts)
    parts = _parts(result) if key is not None else None
    if parts is None or key is None:
        return result
    items, is_tuple = parts
    kept = store.folder
    assert kept is not None  # a key is only made with a cache folder
    try:
        kept.mkdir(parents=True, exist_ok=True)
    except OSError:
        return result
    with tempfile.TemporaryDirectory(dir=kept.parent) as tmp:
        folder = Path(tmp)
        try:
            names, layout = _write_parts(items, folder)
            same = fingerprint(_read_parts(folder, layout)) == fingerprint(items)
        except (OSError, ValueError, TypeError, ImportError) as exc:  # e.g. a column type Parquet lacks
            log.info("%s is not kept in the input cache (%s)", kind, exc)
            return result
        if not same:
            log.info("%s is not kept in the input cache: it does not read back from Parquet exactly", kind)
            return result
        store.store(key, folder, names, {"layout": layout, "tuple": is_tuple, "records": sub.records,
                                          "accounts": accounts})
    return result
