"""EmoBank: sentences rated for valence, arousal and dominance on 1..5 by readers and writers.

Licence: CC-BY-SA-4.0.
Citation: Buechel and Hahn 2017, "EmoBank: Studying the Impact of Annotation Perspective and Representation
Format on Dimensional Emotion Analysis", EACL.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from affectkit.datasets.base import EmotionDataset, data_dir, require_file
from affectkit.errors import InputError

LICENSE = "CC-BY-SA-4.0"  # what the loader records as the dataset's licence
CITATION = ('Buechel and Hahn 2017, "EmoBank: Studying the Impact of Annotation Perspective and Representation '
            'Format on Dimensional Emotion Analysis", EACL.')


def load_emobank(split: str = "train", root: Path | None = None, perspective: str = "combined") -> EmotionDataset:
    """EmoBank (Buechel and Hahn 2017): V, A, D on 1..5. ``combined`` is the corpus' weighted reader/writer mean;
    ``reader``/``writer`` use those gold files on the same split."""
    root = (root or data_dir()) / "emobank"
    path = require_file(root / "emobank.csv")
    rows = list(csv.DictReader(open(path, encoding="utf-8", newline="")))
    rows = [r for r in rows if r["split"] == split]
    if not rows:
        raise InputError(f"EmoBank has no split {split!r} (train, dev, test)")
    files = [path]
    if perspective == "combined":
        vad = np.array([[float(r["V"]), float(r["A"]), float(r["D"])] for r in rows], dtype=np.float64)
    elif perspective in ("reader", "writer"):
        pfile = require_file(root / f"{perspective}.csv")
        files.append(pfile)
        gold = {r["id"]: r for r in csv.DictReader(open(pfile, encoding="utf-8", newline=""))}
        vad = np.array([[float(gold[r["id"]][d]) if r["id"] in gold else np.nan for d in "VAD"] for r in rows])
    else:
        raise ValueError("perspective must be combined, reader or writer")
    return EmotionDataset("emobank", split, [r["text"] for r in rows], vad=vad, vad_scale="1..5",
                          meta={"id": [r["id"] for r in rows]}, license=LICENSE, files=files)
