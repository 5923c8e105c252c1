"""The datasets that label-set transfer trains and tests on, and a disk cache of their pooled vectors.

``SHIP`` are the category datasets whose licence lets a shipped model train on them (see each loader's
``license``); ``EVAL_ONLY`` are only ever test folds. Vectors are cached per encoder (a digest of its files) and
per text list, so a benchmark that fits many heads embeds every text once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from affectkit.datasets import EmotionDataset, load_dataset
from affectkit.hashing import digest_folder, digest_texts

SHIP = ("goemotions", "brighter", "gne", "premo", "smile")
EVAL_ONLY = ("meld", "emorynlp", "dailydialog")
# splits each dataset offers for (train, dev, test); DailyDialog has only its train split in the data folder
SPLITS: dict[str, tuple[str, str | None, str]] = {
    "goemotions": ("train", "dev", "test"), "brighter": ("train", "dev", "test"), "gne": ("train", "dev", "test"),
    "premo": ("train", "dev", "test"), "smile": ("train", "dev", "test"), "meld": ("train", "dev", "test"),
    "emorynlp": ("train", "dev", "test"), "dailydialog": ("train", None, "train"), "armanemo": ("train", None, "test"),
}
MAX_TEST_ROWS = 5000  # a fixed sample of larger test folds (DailyDialog: 87,170 utterances)
# a fixed sample of larger training sets (GoEmotions: 43,410): with every dataset weighing alike, more rows of one
# set add little, and the heads fit in a third of the time
MAX_TRAIN_ROWS = 12000


def load_split(name: str, split: str, max_rows: int | None = None, seed: int = 13) -> EmotionDataset:
    """A dataset split, optionally a fixed random sample of ``max_rows`` rows (order kept)."""
    ds = load_dataset(name, split)
    if max_rows is not None and len(ds) > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(len(ds), max_rows, replace=False))
        ds = ds.subset(rows)
    return ds


def texts_digest(texts: list[str]) -> str:
    return digest_texts(texts, 20)


def folder_digest(path: Path) -> str:
    """A digest of a model or encoder folder's files (names and contents)."""
    return digest_folder(path, n=16)


class VectorCache:
    """Pooled vectors of text lists for one encoder, cached as ``.npy`` files under ``root/<encoder key>/``."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray], key: str, root: str | Path = "runs/cache/vectors"):
        self.embed = embed
        self.dir = Path(root) / key
        self.dir.mkdir(parents=True, exist_ok=True)

    def __call__(self, texts: list[str]) -> np.ndarray:
        path = self.dir / f"{texts_digest(texts)}.npy"
        if path.exists():
            return np.load(path)
        x = np.asarray(self.embed(texts), dtype=np.float32)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, x)
        tmp.replace(path)
        return x
