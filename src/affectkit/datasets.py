"""Loaders for the emotion datasets affectkit trains and evaluates on.

Datasets are read at run time from a data folder (``$AFFECTKIT_DATA``, else ``shared/data`` next to the
repository); their rows are never copied into the package. Every loader returns an :class:`EmotionDataset`:
texts plus whichever targets the dataset has (categories as multi-hot or vote counts, VAD on a stated scale).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from affectkit.errors import InputError
from affectkit.labels import LabelSet, get_labelset


@dataclass
class EmotionDataset:
    """Texts with targets. ``categories`` is ``(n, K)`` over ``labelset`` (multi-hot, or vote counts for soft
    labels); ``vad`` is ``(n, 3)`` on ``vad_scale`` (NaN where a dimension is missing)."""

    name: str
    split: str
    texts: list[str]
    labelset: LabelSet | None = None
    categories: np.ndarray | None = None
    vad: np.ndarray | None = None
    vad_scale: str | None = None
    meta: dict[str, list] = field(default_factory=dict)
    license: str = ""
    files: list[Path] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def fingerprint(self) -> str:
        """sha256 over the source files, for reproducibility records."""
        h = hashlib.sha256()
        for f in sorted(self.files):
            h.update(f.name.encode())
            h.update(f.read_bytes())
        return h.hexdigest()

    def subset(self, idx: np.ndarray | list[int]) -> "EmotionDataset":
        idx = np.asarray(idx, dtype=np.int64)
        return EmotionDataset(self.name, self.split, [self.texts[i] for i in idx], self.labelset,
                              None if self.categories is None else self.categories[idx],
                              None if self.vad is None else self.vad[idx], self.vad_scale,
                              {k: [v[i] for i in idx] for k, v in self.meta.items()}, self.license, self.files)


def data_dir() -> Path:
    """The folder that holds the datasets: ``$AFFECTKIT_DATA`` or ``shared/data`` beside the repository."""
    env = os.environ.get("AFFECTKIT_DATA")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for base in [Path.cwd(), *Path.cwd().parents, *here.parents]:
        cand = base / "shared" / "data"
        if (cand / "INDEX.md").exists():
            return cand
    return Path.cwd().parent / "shared" / "data"


def _require(path: Path) -> Path:
    if not path.exists():
        raise InputError(f"dataset file not found: {path} (set AFFECTKIT_DATA to the folder holding the datasets)")
    return path


def load_goemotions(split: str = "train", root: Path | None = None) -> EmotionDataset:
    """GoEmotions (Demszky et al. 2020): headerless TSV ``text, label ids, id``; multi-label over 28 labels."""
    root = (root or data_dir()) / "goemotions"
    path = _require(root / f"{split}.tsv")
    ls = get_labelset("goemotions")
    names = (root / "labels.txt").read_text().split()
    if tuple(names) != ls.labels:
        raise InputError(f"{root / 'labels.txt'} does not list the GoEmotions labels in the expected order")
    texts, ids = [], []
    with open(path, encoding="utf-8", newline="") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            texts.append(parts[0])
            ids.append([int(x) for x in parts[1].split(",")])
    y = np.zeros((len(texts), len(ls)), dtype=np.float32)
    for i, row in enumerate(ids):
        y[i, row] = 1
    return EmotionDataset("goemotions", split, texts, ls, y, license="Apache-2.0", files=[path])


def load_emobank(split: str = "train", root: Path | None = None, perspective: str = "combined") -> EmotionDataset:
    """EmoBank (Buechel and Hahn 2017): V, A, D on 1..5. ``combined`` is the corpus' weighted reader/writer mean;
    ``reader``/``writer`` use those gold files on the same split."""
    root = (root or data_dir()) / "emobank"
    path = _require(root / "emobank.csv")
    rows = list(csv.DictReader(open(path, encoding="utf-8", newline="")))
    rows = [r for r in rows if r["split"] == split]
    if not rows:
        raise InputError(f"EmoBank has no split {split!r} (train, dev, test)")
    files = [path]
    if perspective == "combined":
        vad = np.array([[float(r["V"]), float(r["A"]), float(r["D"])] for r in rows], dtype=np.float64)
    elif perspective in ("reader", "writer"):
        pfile = _require(root / f"{perspective}.csv")
        files.append(pfile)
        gold = {r["id"]: r for r in csv.DictReader(open(pfile, encoding="utf-8", newline=""))}
        vad = np.array([[float(gold[r["id"]][d]) if r["id"] in gold else np.nan for d in "VAD"] for r in rows])
    else:
        raise ValueError("perspective must be combined, reader or writer")
    return EmotionDataset("emobank", split, [r["text"] for r in rows], vad=vad, vad_scale="1..5",
                          meta={"id": [r["id"] for r in rows]}, license="CC-BY-SA-4.0", files=files)


LOADERS: dict[str, Callable[..., EmotionDataset]] = {
    "goemotions": load_goemotions,
    "emobank": load_emobank,
}


def load_dataset(name: str, split: str = "train", **kwargs) -> EmotionDataset:
    """Load a built-in dataset by name (see ``LOADERS``)."""
    if name not in LOADERS:
        raise InputError(f"unknown dataset {name!r}; built-in datasets: {', '.join(sorted(LOADERS))}")
    return LOADERS[name](split, **kwargs)


def describe(ds: EmotionDataset) -> str:
    return json.dumps({"name": ds.name, "split": ds.split, "rows": len(ds)})
