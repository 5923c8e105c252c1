"""ArmanEmo: Persian sentences, 7 classes (eval only).

Licence: CC-BY-NC-SA-4.0.
Citation: Mirzaee et al. 2022, "ArmanEmo: A Persian Dataset for Text-based Emotion Detection", arXiv:2207.11808.
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
from affectkit.errors import InputError
from affectkit.labels import get_labelset

LICENSE = "CC-BY-NC-SA-4.0"  # what the loader records as the dataset's licence
CITATION = 'Mirzaee et al. 2022, "ArmanEmo: A Persian Dataset for Text-based Emotion Detection", arXiv:2207.11808.'


ARMANEMO_ALIASES = {"angry": "anger", "happy": "happiness", "hate": "hatred", "sad": "sadness",
                    "surprise": "wonder"}


def load_armanemo(split: str = "test", root: Path | None = None) -> EmotionDataset:
    """ArmanEmo (Mirzaee et al. 2022), Persian: headerless ``text TAB LABEL``, one record per line with no quote
    handling (``csv.QUOTE_NONE``: some texts start with a stray ``"``); labels ANGRY, FEAR, HAPPY, HATE, SAD,
    SURPRISE, OTHER."""
    check_split("ArmanEmo", split, ("train", "test"))
    path = require_file((root or data_dir()) / "armanemo" / f"{split}.tsv")
    ls = get_labelset("armanemo")
    norm = LabelNormaliser(ls, ARMANEMO_ALIASES, source=str(path))
    texts, labels = [], []
    with open(path, encoding="utf-8", newline="") as f:
        for lineno, rec in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if not rec:
                continue
            if len(rec) < 2:
                raise InputError(f"{path}:{lineno}: expected text TAB label")
            texts.append("\t".join(rec[:-1]))
            labels.append([norm(rec[-1])])
    return EmotionDataset("armanemo", split, texts, ls, onehot_rows(labels, len(ls)), license=LICENSE,
                          files=[path])
