"""WASSA-2017 emotion intensity files a user brings (anger, fear, joy, sadness).

Licence: the user's copy (research use).
Citation: Mohammad and Bravo-Marquez 2017, "WASSA-2017 Shared Task on Emotion Intensity", WASSA.
"""

from __future__ import annotations

from typing import Any

from affectkit.datasets.base import EmotionDataset
from affectkit.datasets.semeval2018 import load_semeval2018_affect

LICENSE = "the user's copy (research use)"
CITATION = 'Mohammad and Bravo-Marquez 2017, "WASSA-2017 Shared Task on Emotion Intensity", WASSA.'


def load_wassa2017(split: str = "test", path: Any = None) -> EmotionDataset:
    """WASSA-2017 EmoInt (Mohammad and Bravo-Marquez 2017): headerless ``id, tweet, emotion, score`` lines, one
    file per emotion; intensity 0..1 in ``intensity``, the emotion in ``meta['emotion']``."""
    return load_semeval2018_affect("wassa2017", split, path, "score", False)
