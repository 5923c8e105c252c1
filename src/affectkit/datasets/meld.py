"""MELD: utterances of the TV series Friends, 7 emotions and 3 sentiments, with dialogue ids (eval only).

Licence: GPL-3.0.
Citation: Poria et al. 2019, "MELD: A Multimodal Multi-Party Dataset for Emotion Recognition in Conversations", ACL.
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
CITATION = 'Poria et al. 2019, "MELD: A Multimodal Multi-Party Dataset for Emotion Recognition in Conversations", ACL.'


def load_meld(split: str = "test", root: Path | None = None, dyadic: bool = False) -> EmotionDataset:
    """MELD (Poria et al. 2019): utterances from *Friends* with one of 7 emotions (the Ekman set). CSV with CRLF
    line endings; ``meta`` keeps speaker, sentiment and dialogue/utterance ids for conversational context."""
    check_split("MELD", split, ("train", "dev", "test"))
    base = (root or data_dir()) / "meld"
    folder = "MELD_Dyadic" if dyadic else "MELD"
    path = require_file(base / folder / f"{split}_sent_emo{'_dya' if dyadic else ''}.csv")
    ls = get_labelset("ekman")
    norm = LabelNormaliser(ls, source=str(path))
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    labels = [[norm(r["Emotion"])] for r in rows]
    meta = {"speaker": [r["Speaker"] for r in rows], "sentiment": [r["Sentiment"].strip() for r in rows],
            "dialogue_id": [r["Dialogue_ID"] for r in rows], "utterance_id": [r["Utterance_ID"] for r in rows]}
    return EmotionDataset("meld_dyadic" if dyadic else "meld", split, [r["Utterance"] for r in rows], ls,
                          onehot_rows(labels, len(ls)), meta=meta, license=LICENSE, files=[path])
