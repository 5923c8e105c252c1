"""PRemo: GitHub pull-request comments, 3 annotators' emotion votes (soft labels).

Licence: MIT.
Citation: PRemo: A Dataset of Emotions Found on Pull Request Discussions; Coutinho et al. 2024, "Looks Good To Me
;-): Assessing Sentiment Analysis Tools for Pull Request Discussions", EASE.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from affectkit.datasets.base import EmotionDataset, LabelNormaliser, data_dir, hash_split_rows, require_file
from affectkit.labels import get_labelset

LICENSE = "MIT"  # what the loader records as the dataset's licence
CITATION = ('PRemo: A Dataset of Emotions Found on Pull Request Discussions; Coutinho et al. 2024, "Looks Good To Me '
            ';-): Assessing Sentiment Analysis Tools for Pull Request Discussions", EASE.')


PREMO_LABELS = {"positivesurprise": "positive surprise", "negativesurprise": "negative surprise"}


def load_premo(split: str = "test", root: Path | None = None) -> EmotionDataset:
    """PRemo (Coutinho et al. 2025): GitHub pull-request comments, three annotators each choosing any of 7 emotions
    (the pass with the discussion's context, ``part2``). ``categories`` are vote counts (0-3 per label: soft
    labels); rows where no annotator chose an emotion have all-zero votes. No official split: a fixed hash split."""
    path = require_file((root or data_dir()) / "premo" / "dataset.json")
    ls = get_labelset("premo")
    norm = LabelNormaliser(ls, PREMO_LABELS, source=str(path))
    rows = [r for r in json.loads(path.read_text("utf-8")) if str(r.get("raw_message") or "").strip()]
    rows = hash_split_rows(rows, lambda r: r["raw_message"], split, "PRemo")
    votes = np.zeros((len(rows), len(ls)), dtype=np.float32)
    pos, neg = [], []
    for i, r in enumerate(rows):
        answers = [a["part2"] for a in r["individual_answers"]]
        for a in answers:
            for e in set(a.get("emotions") or []):
                votes[i, norm(e)] += 1
        pos.append(float(np.mean([a.get("positive_intensity", 0) for a in answers])) / 4.0)
        neg.append(float(np.mean([a.get("negative_itensity", 0) for a in answers])) / 4.0)
    meta = {"project": [r["project"] for r in rows], "positive_intensity": pos, "negative_intensity": neg,
            "annotators": [len(r["individual_answers"]) for r in rows]}
    return EmotionDataset("premo", split, [r["raw_message"] for r in rows], ls, votes, category_kind="votes",
                          meta=meta, license=LICENSE, files=[path])
