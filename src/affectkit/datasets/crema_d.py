"""CREMA-D labels: per-clip crowd votes for 6 emotions in voice, face and audio-visual modalities (no media).

Licence: ODbL-1.0 / DbCL-1.0.
Citation: Cao et al. 2014, "CREMA-D: Crowd-sourced Emotional Multimodal Actors Dataset",
IEEE Transactions on Affective Computing.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from affectkit.datasets.base import EmotionDataset, check_split, data_dir, require_file
from affectkit.errors import InputError
from affectkit.labels import get_labelset

LICENSE = "ODbL-1.0/DbCL-1.0"  # what the loader records as the dataset's licence
CITATION = ('Cao et al. 2014, "CREMA-D: Crowd-sourced Emotional Multimodal Actors Dataset", '
            'IEEE Transactions on Affective Computing.')


CREMA_D_SENTENCES = {  # the 12 sentences the actors read (CREMA-D README)
    "IEO": "It's eleven o'clock.", "TIE": "That is exactly what happened.", "IOM": "I'm on my way to the meeting.",
    "IWW": "I wonder what this is about.", "TAI": "The airplane is almost full.",
    "MTI": "Maybe tomorrow it will be cold.", "IWL": "I would like a new alarm clock.",
    "ITH": "I think I have a doctor's appointment.", "DFA": "Don't forget a jacket.",
    "ITS": "I think I've seen this before.", "TSI": "The surface is slick.",
    "WSI": "We'll stop in a couple of minutes.",
}


CREMA_D_MODALITIES = {"voice": "1", "face": "2", "audiovisual": "3"}


def load_crema_d(split: str = "all", root: Path | None = None, modality: str = "audiovisual") -> EmotionDataset:
    """CREMA-D crowd perception votes (Cao et al. 2014), no audio: one row per clip with the vote counts of the
    chosen rating ``modality`` (voice, face or audiovisual) as soft labels over ``crema-d``. The text is the
    sentence the actor read; ``meta`` keeps the clip file name, the intended emotion and its level."""
    check_split("CREMA-D (no official split)", split, ("all",))
    if modality not in CREMA_D_MODALITIES:
        raise InputError(f"CREMA-D modality must be one of {', '.join(CREMA_D_MODALITIES)}")
    path = require_file((root or data_dir()) / "crema_d_labels" / "processedResults" / "tabulatedVotes.csv")
    ls = get_labelset("crema-d")
    columns = ["A", "D", "F", "H", "N", "S"]  # = crema-d label order anger disgust fear happy neutral sad
    prefix = CREMA_D_MODALITIES[modality]
    texts: list[str] = []
    votes: list[list[float]] = []
    meta: dict[str, list[Any]] = {"file": [], "intended": [], "level": [], "responses": []}
    intended = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        col = {h: i for i, h in enumerate(header)}
        for rec in reader:
            if not rec[0].startswith(prefix):
                continue
            name = rec[col["fileName"]]
            parts = name.split("_")
            texts.append(CREMA_D_SENTENCES[parts[1]])
            votes.append([float(rec[col[c]]) for c in columns])
            meta["file"].append(name)
            meta["intended"].append(intended[parts[2]])
            meta["level"].append(parts[3])
            meta["responses"].append(int(rec[col["numResponses"]]))
    return EmotionDataset(f"crema_d_{modality}", split, texts, ls, np.array(votes, dtype=np.float64), meta=meta,
                          license=LICENSE, files=[path], category_kind="votes")
