"""GoodNewsEveryone: news headlines with a dominant emotion among 15 (annotations only; headlines belong to
their publishers).

Licence: CC-BY-4.0 (annotations).
Citation: Bostan, Kim and Klinger 2020, "GoodNewsEveryone: A Corpus of News Headlines Annotated with Emotions,
Semantic Roles, and Reader Perception", LREC.
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

LICENSE = "CC-BY-4.0 (annotations; headlines: their publishers')"  # what the loader records as the dataset's licence
CITATION = ('Bostan, Kim and Klinger 2020, "GoodNewsEveryone: A Corpus of News Headlines Annotated with Emotions, '
            'Semantic Roles, and Reader Perception", LREC.')


GNE_LABELS = {"love_including_like": "love", "negative_anticipation_including_pessimism": "negative anticipation",
              "positive_anticipation_including_optimism": "positive anticipation"}


def load_gne(split: str = "test", root: Path | None = None) -> EmotionDataset:
    """GoodNewsEveryone (Bostan et al. 2020): news headlines, one dominant emotion of 15. No official split: a
    fixed hash split (:func:`hash_split`). ``meta`` keeps the other emotion, the reader emotion and the cause span."""
    path = require_file((root or data_dir()) / "goodnewseveryone" / "gne-release-v1.0.tsv")
    ls = get_labelset("gne")
    norm = LabelNormaliser(ls, GNE_LABELS, source=str(path))
    with open(path, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r["headline"].strip()]
    rows = hash_split_rows(rows, lambda r: r["headline"], split, "GoodNewsEveryone")
    labels = [[norm(r["dominant_emotion"])] for r in rows]
    meta = {"other_emotion": [r["other_emotions"] for r in rows],
            "reader_emotion": [r["reader_emotions"] for r in rows],
            "cause": [r["cause"] for r in rows], "source": [r["source"] for r in rows]}
    return EmotionDataset("gne", split, [r["headline"] for r in rows], ls, onehot_rows(labels, len(ls)), meta=meta,
                          license=LICENSE, files=[path])
