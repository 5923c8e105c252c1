"""One place for content digests (SHA-256, hex): of JSON-able values, of texts and text lists, of files and
folders. Everything that keys a cache, a resume point or a reproducibility record on content uses these."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

BLOCK = 1 << 20


def _cut(hexdigest: str, n: int | None) -> str:
    return hexdigest[:n] if n else hexdigest


def digest_json(value: Any, n: int | None = None) -> str:
    """SHA-256 of ``value`` as canonical JSON (sorted keys, UTF-8; values JSON cannot hold by ``str``)."""
    return digest_text(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str), n)


def digest_text(text: str, n: int | None = None) -> str:
    """SHA-256 of ``text`` in UTF-8 (lone surrogates kept, so any Python string has a digest)."""
    return _cut(hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(), n)


def digest_texts(texts: Iterable[str], n: int | None = None) -> str:
    """SHA-256 of a list of texts, each followed by a NUL byte (so ``["ab"]`` and ``["a", "b"]`` differ)."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return _cut(h.hexdigest(), n)


def digest_file(path: str | Path) -> tuple[str, int]:
    """SHA-256 of a file's bytes and its size, read in 1 MiB blocks into one reused buffer (about 0.7 s per GB
    from the page cache on one core)."""
    h = hashlib.sha256()
    size = 0
    block = bytearray(BLOCK)
    view = memoryview(block)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(block):
            h.update(view[:n])
            size += n
    return h.hexdigest(), size


def digest_files(paths: Iterable[str | Path], root: str | Path | None = None, n: int | None = None) -> str:
    """SHA-256 over several files in the order given, each preceded by its name (relative to ``root`` when
    given, else the bare file name)."""
    h = hashlib.sha256()
    for path in paths:
        path = Path(path)
        h.update(str(path.relative_to(root) if root is not None else path.name).encode())
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(BLOCK), b""):
                h.update(block)
    return _cut(h.hexdigest(), n)


def digest_folder(path: str | Path, suffixes: tuple[str, ...] | None = None, n: int | None = None) -> str:
    """:func:`digest_files` over a folder's files (sorted, recursively; only ``suffixes`` when given)."""
    files = sorted(f for f in Path(path).rglob("*") if f.is_file() and (suffixes is None or f.suffix in suffixes))
    return digest_files(files, root=path, n=n)
