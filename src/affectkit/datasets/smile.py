"""SMILE: tweets to UK museums, happy/angry/sad/surprise/disgust (annotations only; tweets are Twitter's).

Licence: CC-BY (annotations).
Citation: Wang et al. 2016, "SMILE: Twitter Emotion Classification using Domain Adaptation", SAAIP @ IJCAI.
"""

from __future__ import annotations

import csv
from pathlib import Path

from affectkit.datasets.base import (
    EmotionDataset,
    LabelNormaliser,
    data_dir,
    hash_split_rows,
    onehot_rows,
    require_file,
)
from affectkit.labels import get_labelset

LICENSE = "CC-BY (annotations; tweets: Twitter's)"  # what the loader records as the dataset's licence
CITATION = 'Wang et al. 2016, "SMILE: Twitter Emotion Classification using Domain Adaptation", SAAIP @ IJCAI.'


SMILE_LABELS = {"angry": "angry", "happy": "happy", "sad": "sad", "surprise": "surprise", "disgust": "disgust",
                "nocode": "nocode"}


def load_smile(split: str = "test", root: Path | None = None) -> EmotionDataset:
    """SMILE (Wang et al. 2016): tweets to UK museums, one or more of happy, angry, sad, surprise, disgust (joined by
    ``|``), or ``nocode`` (no emotion). Tweets coded ``not-relevant`` are left out. No official split: a fixed hash
    split."""
    path = require_file((root or data_dir()) / "smile" / "smile-annotations-final.csv")
    ls = get_labelset("smile")
    norm = LabelNormaliser(ls, SMILE_LABELS, source=str(path))
    with open(path, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["Category"].strip() != "not-relevant" and r["text"].strip()]
    rows = hash_split_rows(rows, lambda r: r["text"], split, "SMILE")
    labels = [[norm(x) for x in r["Category"].split("|")] for r in rows]
    return EmotionDataset("smile", split, [r["text"] for r in rows], ls, onehot_rows(labels, len(ls)),
                          license=LICENSE, files=[path])
