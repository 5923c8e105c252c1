"""Warriner norms: valence, arousal and dominance of 13,915 English lemmas on 1..9 (eval only).

Licence: CC-BY-NC-ND-3.0.
Citation: Warriner, Kuperman and Brysbaert 2013, "Norms of valence, arousal, and dominance for 13,915 English
lemmas", Behavior Research Methods.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from affectkit.datasets.base import EmotionDataset, check_split, data_dir, require_file
from affectkit.errors import InputError

LICENSE = "CC-BY-NC-ND-3.0"  # what the loader records as the dataset's licence
CITATION = ('Warriner, Kuperman and Brysbaert 2013, "Norms of valence, arousal, and dominance for 13,915 English '
            'lemmas", Behavior Research Methods.')


def load_warriner(split: str = "test", root: Path | None = None) -> EmotionDataset:
    """Warriner, Kuperman and Brysbaert (2013) norms: English lemmas with V, A, D means on 1..9 (``meta`` has
    the SDs and rating counts). Splits are XANEW's crosslingual word lists; ``all`` keeps every word."""
    check_split("Warriner norms", split, ("train", "dev", "test", "all"))
    base = (root or data_dir()) / "warriner_vad"
    path = require_file(base / "Ratings_Warriner_et_al.csv")
    files = [path]
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    if split != "all":
        sfile = require_file(base / "splits" / "crosslingual" / f"{split}.txt")
        files.append(sfile)
        wanted = [w.strip() for w in sfile.read_text(encoding="utf-8").splitlines() if w.strip()]
        by_word = {r["Word"]: r for r in rows}
        missing = [w for w in wanted if w not in by_word]
        if missing:
            raise InputError(f"{sfile}: {len(missing)} words are not in {path.name}, e.g. {missing[:3]}")
        rows = [by_word[w] for w in wanted]
    vad = np.array([[float(r[f"{d}.Mean.Sum"]) for d in "VAD"] for r in rows], dtype=np.float64)
    meta = {f"{d}_sd": [float(r[f"{d}.SD.Sum"]) for r in rows] for d in "VAD"}
    meta.update({f"{d}_n": [int(r[f"{d}.Rat.Sum"]) for r in rows] for d in "VAD"})
    return EmotionDataset("warriner", split, [r["Word"] for r in rows], vad=vad, vad_scale="1..9", meta=meta,
                          license=LICENSE, files=files)
