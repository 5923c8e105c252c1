"""BRIGHTER, English track: Reddit narrative sentences, multi-label anger/fear/joy/sadness/surprise with intensity 0..3.

Licence: CC-BY-4.0.
Citation: Muhammad et al. 2025, "BRIGHTER: BRIdging the Gap in Human-Annotated Textual Emotion Recognition
Datasets for 28 Languages", ACL; SemEval-2025 Task 11.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from affectkit.datasets.base import EmotionDataset, check_split, data_dir, require_file
from affectkit.labels import get_labelset

LICENSE = "CC-BY-4.0"  # what the loader records as the dataset's licence
CITATION = ('Muhammad et al. 2025, "BRIGHTER: BRIdging the Gap in Human-Annotated Textual Emotion Recognition '
            'Datasets for 28 Languages", ACL; SemEval-2025 Task 11.')


BRIGHTER_FILES = {"train": "track_a/train/eng.csv", "dev": "track_a/dev/eng.csv", "test": "track_c/test/eng.csv"}


def load_brighter(split: str = "test", root: Path | None = None) -> EmotionDataset:
    """BRIGHTER / SemEval-2025 Task 11 English (Muhammad et al. 2025): Reddit narrative sentences, multi-label over
    anger, fear, joy, sadness, surprise (all zero = no emotion). Train and dev from track A; test from track C (the
    gold of the track A test texts). ``scores`` hold track B's intensity (0-3, as 0..1) where the text has one."""
    check_split("BRIGHTER", split, tuple(BRIGHTER_FILES))
    base = (root or data_dir()) / "brighter_eng"
    path = require_file(base / BRIGHTER_FILES[split])
    ls = get_labelset("brighter")
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    y = np.array([[float(r[lab]) for lab in ls.labels] for r in rows], dtype=np.float32)
    files = [path]
    intensity_path = base / f"track_b/{split}/eng.csv"
    meta: dict[str, list] = {"id": [r["id"] for r in rows]}
    if intensity_path.exists():
        with open(intensity_path, encoding="utf-8", newline="") as f:
            graded = {r["text"]: r for r in csv.DictReader(f)}
        files.append(intensity_path)
        for lab in ls.labels:
            meta[f"intensity_{lab}"] = [float(graded[r["text"]][lab]) / 3.0 if r["text"] in graded else math.nan
                                        for r in rows]
    return EmotionDataset("brighter", split, [r["text"] for r in rows], ls, y, meta=meta, license=LICENSE,
                          files=files)
