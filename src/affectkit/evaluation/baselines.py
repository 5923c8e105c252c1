"""Baseline analyzers that join an evaluation when their packages are installed.

- ``baseline:vader``: VADER (Hutto and Gilbert 2014) through the ``vaderSentiment`` package; its compound score
  is a valence on -1..1, and its positive/negative/neutral shares a distribution over the GoEmotions sentiment
  groups. It has no emotion categories, so emotion tasks skip it and valence tasks score it.
- ``lexicon:PATH``: an NRC-style lexicon from a user file (:mod:`affectkit.analyzers.lexicon`); pass it with
  ``--lexicon PATH`` or as a model.
- ``baseline:text2emotion``: the text2emotion package cannot run offline. At import it calls
  ``nltk.download`` for the stopwords, punkt and wordnet corpora (from the NLTK data server), and it uses
  ``emoji.UNICODE_EMOJI``, which emoji 2.x removed. The spec is recognised and skipped with that reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from affectkit.analyzers import register
from affectkit.analyzers.base import Analyzer
from affectkit.errors import UnknownModelError
from affectkit.labels import LabelSet, get_labelset
from affectkit.schema import BatchPrediction
from affectkit.vad import CANONICAL

TEXT2EMOTION_OFFLINE = ("text2emotion cannot run offline: at import it downloads the NLTK stopwords, punkt and "
                        "wordnet corpora, and it needs emoji<2 (emoji.UNICODE_EMOJI)")


class VaderAnalyzer(Analyzer):
    """VADER as an analyzer: valence = compound score (-1..1); distribution over ``goemotions-sentiment`` =
    (pos, neg, 0, neu) shares (a text with no scored word is all neutral)."""

    name = "baseline:vader"

    def __init__(self) -> None:
        try:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
        except ImportError:
            raise UnknownModelError("baseline:vader needs the vaderSentiment package (pip install vaderSentiment)"
                                    ) from None
        self._vader = SentimentIntensityAnalyzer()
        self.labelset: LabelSet = get_labelset("goemotions-sentiment")

    def info(self) -> dict[str, Any]:
        from importlib.metadata import version

        return {**super().info(), "package": f"vaderSentiment {version('vaderSentiment')}"}

    def predict_batch(self, items: list[Any], labels: LabelSet | None = None) -> BatchPrediction:
        n = len(items)
        dist = np.zeros((n, len(self.labelset)))
        vad = np.full((n, 3), np.nan)
        for i, text in enumerate(items):
            s = self._vader.polarity_scores(text)
            shares = np.array([s["pos"], s["neg"], 0.0, s["neu"]])
            dist[i] = shares / shares.sum() if shares.sum() > 0 else [0, 0, 0, 1]
            vad[i, 0] = s["compound"]
        intensity = 1.0 - dist[:, self.labelset.index("neutral")]
        return BatchPrediction(self.labelset, dist, vad=vad, vad_scale=CANONICAL.name, intensity=intensity,
                               model=self.name)


def _baseline(arg: str, **kwargs: Any) -> Analyzer:
    if arg == "vader":
        return VaderAnalyzer()
    if arg == "text2emotion":
        raise UnknownModelError(TEXT2EMOTION_OFFLINE)
    raise UnknownModelError(f"unknown baseline {arg!r}; baselines: vader, text2emotion")


register("baseline", _baseline)

BASELINES = ("baseline:vader", "baseline:text2emotion")
