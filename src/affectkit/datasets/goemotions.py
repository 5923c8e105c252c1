"""GoEmotions: Reddit comments, multi-label, 27 emotions and neutral; the published train/dev/test split.

Licence: Apache-2.0.
Citation: Demszky et al. 2020, "GoEmotions: A Dataset of Fine-Grained Emotions", ACL.
"""

from __future__ import annotations

from pathlib import Path

from affectkit.datasets.base import EmotionDataset, data_dir, onehot_rows, require_file
from affectkit.errors import InputError
from affectkit.labels import get_labelset

LICENSE = "Apache-2.0"  # what the loader records as the dataset's licence
CITATION = 'Demszky et al. 2020, "GoEmotions: A Dataset of Fine-Grained Emotions", ACL.'


def load_goemotions(split: str = "train", root: Path | None = None) -> EmotionDataset:
    """GoEmotions (Demszky et al. 2020): headerless TSV ``text, label ids, id``; multi-label over 28 labels."""
    root = (root or data_dir()) / "goemotions"
    path = require_file(root / f"{split}.tsv")
    ls = get_labelset("goemotions")
    names = (root / "labels.txt").read_text().split()
    if tuple(names) != ls.labels:
        raise InputError(f"{root / 'labels.txt'} does not list the GoEmotions labels in the expected order")
    texts: list[str] = []
    ids: list[list[int]] = []
    rids: list[str] = []
    with open(path, encoding="utf-8", newline="") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            texts.append(parts[0])
            ids.append([int(x) for x in parts[1].split(",")])
            rids.append(parts[2] if len(parts) > 2 else str(len(rids)))
    return EmotionDataset("goemotions", split, texts, ls, onehot_rows(ids, len(ls)), meta={"id": rids},
                          license=LICENSE, files=[path])
