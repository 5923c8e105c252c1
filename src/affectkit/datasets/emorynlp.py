"""EmoryNLP: Friends utterances with the 7 feeling-wheel classes of Willcox (eval only).

Licence: GPL-3.0.
Citation: Zahiri and Choi 2018, "Emotion Detection on TV Show Transcripts with Sequence-based Convolutional
Neural Networks", AAAI Workshops.
"""

from __future__ import annotations

import csv
from pathlib import Path

from affectkit.datasets.base import (
    EmotionDataset,
    LabelNormaliser,
    check_split,
    data_dir,
    onehot_rows,
    require_file,
)
from affectkit.labels import get_labelset

LICENSE = "GPL-3.0"  # what the loader records as the dataset's licence
CITATION = ('Zahiri and Choi 2018, "Emotion Detection on TV Show Transcripts with Sequence-based Convolutional '
            'Neural Networks", AAAI Workshops.')


EMORYNLP_SPLITS = {"train": "train", "dev": "dev", "test": "test"}


def load_emorynlp(split: str = "test", root: Path | None = None) -> EmotionDataset:
    """EmoryNLP (Zahiri and Choi 2018): *Friends* utterances with 7 feeling-wheel classes ("Joyful", "Mad", ...)."""
    check_split("EmoryNLP", split, tuple(EMORYNLP_SPLITS))
    path = require_file((root or data_dir()) / "emorynlp" / f"emorynlp_{split}_final.csv")
    ls = get_labelset("emorynlp")
    norm = LabelNormaliser(ls, source=str(path))
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    labels = [[norm(r["Emotion"])] for r in rows]
    meta = {"speaker": [r["Speaker"] for r in rows], "scene_id": [r["Scene_ID"] for r in rows],
            "utterance_id": [r["Utterance_ID"] for r in rows], "season": [r["Season"] for r in rows],
            "episode": [r["Episode"] for r in rows]}
    return EmotionDataset("emorynlp", split, [r["Utterance"] for r in rows], ls, onehot_rows(labels, len(ls)),
                          meta=meta, license=LICENSE, files=[path])
