"""An on-disk, chunked, resumable cache of pooled hidden states, read back one layer at a time.

A split's states live in a folder: ``manifest.json`` (what was extracted: the model's identity, the pooling and
a SHA-256 of the texts) and ``chunk_00000.npy``... of shape ``(layers, rows, dim)`` (float32), each written to a
temporary file and renamed, so an interrupted run leaves only whole chunks and resumes after the last one.
Memory holds one chunk while extracting and one layer of the split while probing (chunks are memory-mapped).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from affectkit.hashing import digest_json, digest_texts
from affectkit.probe.extract import LayerStates


def texts_digest(texts: Sequence[str]) -> str:
    return digest_texts(texts)


def cache_key(identity: dict[str, Any], pooling: str) -> str:
    """A short folder name for a model identity and pooling."""
    return digest_json({**identity, "pooling": pooling}, 16)


class StateCache:
    """The pooled states of one split's texts under one model and pooling (see the module docstring)."""

    def __init__(self, folder: str | Path, model: LayerStates, texts: Sequence[str], pooling: str,
                 chunk_size: int = 256) -> None:
        self.folder = Path(folder)
        self.model, self.texts, self.pooling, self.chunk_size = model, list(texts), pooling, chunk_size
        self.manifest = {"model": model.identity, "pooling": pooling, "rows": len(self.texts),
                         "texts_sha256": texts_digest(self.texts), "chunk_size": chunk_size}

    @property
    def n_chunks(self) -> int:
        return (len(self.texts) + self.chunk_size - 1) // self.chunk_size

    def chunk_path(self, i: int) -> Path:
        return self.folder / f"chunk_{i:05d}.npy"

    def _prepare(self, resume: bool) -> None:
        mf = self.folder / "manifest.json"
        same = mf.is_file() and json.loads(mf.read_text()) == json.loads(json.dumps(self.manifest, default=str))
        if not (resume and same):
            self.folder.mkdir(parents=True, exist_ok=True)
            for old in self.folder.glob("chunk_*.npy"):
                old.unlink()
            tmp = mf.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.manifest, indent=2, default=str))
            os.replace(tmp, mf)

    def fill(self, resume: bool = True, progress: Callable[[int, int], None] | None = None) -> int:
        """Extract every chunk that is not on disk yet; returns how many chunks this call extracted."""
        self._prepare(resume)
        done = 0
        for i in range(self.n_chunks):
            path = self.chunk_path(i)
            if path.is_file():
                continue
            rows = self.texts[i * self.chunk_size:(i + 1) * self.chunk_size]
            states = self.model(rows, self.pooling)
            tmp = path.with_name(path.name + ".tmp")
            with open(tmp, "wb") as f:
                np.save(f, states.astype(np.float32))
            os.replace(tmp, path)
            done += 1
            if progress:
                progress(i + 1, self.n_chunks)
        return done

    def _chunks(self) -> list[np.ndarray]:
        return [np.load(self.chunk_path(i), mmap_mode="r") for i in range(self.n_chunks)]

    @property
    def n_layers(self) -> int:
        return int(np.load(self.chunk_path(0), mmap_mode="r").shape[0])

    def layer(self, k: int) -> np.ndarray:
        """The states of layer ``k`` (0 = the embedding output) for every row, ``(rows, dim)``."""
        return np.concatenate([np.asarray(c[k]) for c in self._chunks()], axis=0)
