"""affectkit: emotion analysis you can trust.

    >>> import affectkit
    >>> affectkit.analyze("I can't believe you did this for me, thank you!")        # doctest: +SKIP
    Prediction(labelset='goemotions', emotions=[EmotionScore(label='gratitude', ...), ...], ...)

``analyze`` takes a string, a list of strings or a pandas DataFrame; ``load`` returns an analyzer with the
scikit-learn-style ``predict`` / ``predict_proba`` and spaCy-style ``pipe``.
"""

from __future__ import annotations

from typing import Any

from affectkit.analyzers import Analyzer, load
from affectkit.analyzers.base import DEFAULT_BATCH_SIZE
from affectkit.errors import AffectkitError, InputError, UnknownLabelSetError, UnknownModelError
from affectkit.labels import LabelSet, get_labelset, get_mapping, list_labelsets, normalize_emotion, parrott_tree
from affectkit.schema import BatchPrediction, EmotionScore, Evidence, Prediction
from affectkit.vad import VAD
from affectkit.vad import convert as convert_vad

__version__ = "0.1.0"


def analyze(inputs: Any, model: "str | Analyzer" = "default", labels: str | None = None, top_k: int = 3,
            text_col: str = "text", vad_scale: str | None = None, distribution: bool = True,
            batch_size: int = DEFAULT_BATCH_SIZE, at_least_one_label: bool = False) -> Any:
    """Analyze a text, a list of texts, or a DataFrame column.

    A string gives one :class:`Prediction`, a list gives a list, and a DataFrame gives a DataFrame with every
    input column plus the prediction columns (same rows, same order). ``at_least_one_label``: every text gets at
    least its most probable label, for texts that all express some emotion (``--at-least-one-label``).
    """
    analyzer = load(model)
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(inputs, pd.DataFrame):
        from affectkit.runner import AnalyzeOptions, analyze_frame

        opts = AnalyzeOptions(text_col=text_col, labels=labels, top_k=top_k, vad_scale=vad_scale,
                              distribution=distribution, batch_size=batch_size,
                              at_least_one_label=at_least_one_label)
        return analyze_frame(inputs, analyzer, opts)
    if isinstance(inputs, (str, bytes)):
        return analyzer.analyze(inputs, labels=labels, top_k=top_k, vad_scale=vad_scale,
                                at_least_one_label=at_least_one_label)
    return list(analyzer.pipe(inputs, batch_size=batch_size, labels=labels, top_k=top_k, vad_scale=vad_scale,
                              at_least_one_label=at_least_one_label))


__all__ = ["analyze", "load", "Analyzer", "Prediction", "BatchPrediction", "EmotionScore", "Evidence", "LabelSet",
           "get_labelset", "get_mapping", "list_labelsets", "normalize_emotion", "parrott_tree", "VAD",
           "convert_vad", "AffectkitError", "InputError", "UnknownLabelSetError", "UnknownModelError"]
