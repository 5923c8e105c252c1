"""XED files a user brings: film subtitles with Plutchik's 8 emotions, plus neutral lines.

Licence: the user's copy (CC-BY-4.0 upstream).
Citation: Öhman et al. 2020, "XED: A Multilingual Dataset for Sentiment Analysis and Emotion Detection", COLING.
"""

from __future__ import annotations

import re
from typing import Any

from affectkit.datasets.base import EmotionDataset, onehot_rows, read_tsv, resolve_paths
from affectkit.errors import InputError
from affectkit.labels import get_labelset

LICENSE = "CC-BY-4.0"  # what the loader records as the dataset's licence
CITATION = 'Öhman et al. 2020, "XED: A Multilingual Dataset for Sentiment Analysis and Emotion Detection", COLING.'


XED_CODES = {1: "anger", 2: "anticipation", 3: "disgust", 4: "fear", 5: "joy", 6: "sadness", 7: "surprise",
             8: "trust"}


def load_xed(split: str = "all", path: Any = None, neutral_path: Any = None) -> EmotionDataset:
    """XED (Öhman et al. 2020): ``en-annotated.tsv`` lines ``sentence TAB ids`` with ids 1..8 (anger,
    anticipation, disgust, fear, joy, sadness, surprise, trust) joined by commas; multi-label over Plutchik's
    eight. ``neutral_path`` adds the neutral file (``label TAB sentence``) as rows with no emotion."""
    files = resolve_paths(path)
    ls = get_labelset("plutchik")
    texts, labels = [], []
    for p in files:
        for lineno, r in enumerate(read_tsv(p), 1):
            if len(r) < 2:
                raise InputError(f"{p}:{lineno}: expected sentence TAB label ids")
            try:
                codes = [int(x) for x in re.split(r"[,\s]+", r[-1].strip()) if x]
            except ValueError:
                raise InputError(f"{p}:{lineno}: label ids must be integers 1..8; got {r[-1]!r}") from None
            if not codes or any(c not in XED_CODES for c in codes):
                raise InputError(f"{p}:{lineno}: label ids must be integers 1..8; got {r[-1]!r}")
            texts.append("\t".join(r[:-1]))
            labels.append([ls.index(XED_CODES[c]) for c in codes])
    if neutral_path is not None:
        for p in resolve_paths(neutral_path):
            files.append(p)
            for r in read_tsv(p):
                texts.append(r[-1])
                labels.append([])
    return EmotionDataset("xed", split, texts, ls, onehot_rows(labels, len(ls)), license=LICENSE, files=files)
