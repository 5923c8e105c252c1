"""The one interface every analyzer implements, whatever it reads (text now; images and audio too)."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from affectkit.labels import LabelSet, get_labelset
from affectkit.schema import BatchPrediction, Prediction
from affectkit.text import check_text

log = logging.getLogger(__name__)

# Texts per model call. Large enough that per-call costs (tokenizer start-up, thread hand-off) vanish for the
# static `fast` model (about 19k texts/s at 256, 22k at 1,024 on 2 cores); a transformer runs it in sorted batches.
DEFAULT_BATCH_SIZE = 1024
# Characters per model call. A call's memory grows with the characters it holds (long texts are cut into many
# windows, all encoded in the call), so a batch is split into calls of at most this many characters: four 0.5 MB
# texts go one per call instead of 2 MB at once, while 1,024 texts of a few hundred characters stay one call.
MAX_BATCH_CHARS = 256 * 1024


#: called with an analyzer when it is closed; :mod:`affectkit.analyzers` adds the one that evicts it from the cache
#: of :func:`affectkit.load` (a hook here rather than an import there keeps this module free of import cycles)
CLOSE_HOOKS: list[Callable[["Analyzer"], None]] = []


def _run_close_hooks(analyzer: "Analyzer") -> None:
    for hook in CLOSE_HOOKS:
        hook(analyzer)


class Analyzer(ABC):
    """Turns inputs into :class:`~affectkit.schema.Prediction` objects.

    Subclasses implement :meth:`predict_batch` for inputs that passed :meth:`check`; this class validates
    inputs, isolates failures to their own rows, maps onto a requested label set, and offers the scikit-learn
    style ``predict`` / ``predict_proba`` and spaCy-style streaming :meth:`pipe`.
    """

    name: str = "analyzer"
    modality: str = "text"
    labelset: LabelSet
    closed: bool = False  #: set by :meth:`close`
    #: at most this many characters of text per :meth:`predict_batch` call (``None``: no limit); a single longer
    #: text still goes alone
    max_batch_chars: int | None = MAX_BATCH_CHARS

    # -- to implement ------------------------------------------------------------------------------------------------
    @abstractmethod
    def predict_batch(self, items: list[Any], labels: LabelSet | None = None) -> BatchPrediction:
        """Predict for valid inputs. ``labels`` is a hint: an analyzer with a native head for that label set may
        use it; otherwise the result is mapped afterwards."""

    def check(self, item: Any) -> tuple[Any, str | None]:
        """Validate one input; return ``(value, None)`` or ``(None, reason)``."""
        return check_text(item)

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "modality": self.modality, "labelset": self.labelset.name}

    def native_labelset(self, labels: LabelSet | None = None) -> LabelSet:
        """The label set :meth:`predict_batch` answers in when asked for ``labels`` (answers in other label sets
        are mapped afterwards). An analyzer with a head per label set returns that head's set; one that can
        answer in any label set (an LLM told the labels) should return ``labels``."""
        return self.labelset

    def summary(self) -> dict[str, Any]:
        """Statistics of the work done so far, for a job's summary (an LLM's requests, tokens and seconds)."""
        return {}

    # -- provided ----------------------------------------------------------------------------------------------------
    def analyze_batch(self, items: Sequence[Any], labels: "str | LabelSet | None" = None) -> BatchPrediction:
        """Predictions for ``items`` in order, one row per item; bad items carry an error instead."""
        target = get_labelset(labels) if labels is not None else self.labelset
        valid: list[Any] = []
        positions: list[int] = []
        errors: dict[int, str] = {}
        for i, item in enumerate(items):
            value, err = self.check(item)
            if err is None:
                valid.append(value)
                positions.append(i)
            else:
                errors[i] = err
        part = self._predict_by_size(valid, target) if valid else None
        if part is not None:
            part = part.to_labelset(target)
        return BatchPrediction.scatter(len(items), positions, part, errors, target, self.name)

    def _predict_by_size(self, items: list[Any], target: LabelSet) -> BatchPrediction:
        """Predict in consecutive slices of at most :attr:`max_batch_chars` characters, so that a batch's memory
        does not grow with how many long texts it holds."""
        limit = self.max_batch_chars
        sizes = [len(x) if isinstance(x, str) else 0 for x in items]
        if not limit or sum(sizes) <= limit:
            return self._predict_isolating_failures(items, target)
        slices, start, total = [], 0, 0
        for i, n in enumerate(sizes):
            if i > start and total + n > limit:
                slices.append((start, i))
                start, total = i, 0
            total += n
        slices.append((start, len(items)))
        return BatchPrediction.concat([self._predict_isolating_failures(items[a:b], target).to_labelset(target)
                                       for a, b in slices])

    def _predict_isolating_failures(self, items: list[Any], target: LabelSet) -> BatchPrediction:
        try:
            return self.predict_batch(items, target)
        except Exception as batch_error:  # one bad item must not sink the batch: retry one by one
            if len(items) == 1:
                return BatchPrediction.failed(target, [f"{type(batch_error).__name__}: {batch_error}"], self.name)
            log.warning("batch of %d failed (%s); retrying item by item", len(items), batch_error)
            parts = [self._predict_isolating_failures([x], target).to_labelset(target) for x in items]
            return BatchPrediction.concat(parts)

    def analyze(self, inputs: Any, labels: "str | LabelSet | None" = None, top_k: int | None = 3,
                vad_scale: str | None = None, at_least_one_label: bool = False) -> "Prediction | list[Prediction]":
        """Analyze one input (returns a :class:`Prediction`) or a sequence (returns a list). ``at_least_one_label``:
        every input gets at least its most probable label (:meth:`BatchPrediction.always_labelled`)."""
        single = isinstance(inputs, (str, bytes)) or not isinstance(inputs, Iterable)
        items = [inputs] if single else list(inputs)
        preds = self._predictions(items, labels, top_k, vad_scale, at_least_one_label)
        return preds[0] if single else preds

    def pipe(self, inputs: Iterable[Any], batch_size: int = DEFAULT_BATCH_SIZE,
             labels: "str | LabelSet | None" = None, top_k: int | None = 3,
             vad_scale: str | None = None, at_least_one_label: bool = False) -> Iterator[Prediction]:
        """Stream predictions over an iterable, ``batch_size`` inputs at a time, in order."""
        batch: list[Any] = []
        for item in inputs:
            batch.append(item)
            if len(batch) >= batch_size:
                yield from self._predictions(batch, labels, top_k, vad_scale, at_least_one_label)
                batch = []
        if batch:
            yield from self._predictions(batch, labels, top_k, vad_scale, at_least_one_label)

    def _predictions(self, items: list[Any], labels: "str | LabelSet | None", top_k: int | None,
                     vad_scale: str | None, at_least_one_label: bool) -> list[Prediction]:
        batch = self.analyze_batch(items, labels)
        return (batch.always_labelled() if at_least_one_label else batch).to_predictions(top_k, vad_scale)

    # scikit-learn style -----------------------------------------------------------------------------------------------
    @property
    def classes_(self) -> np.ndarray:
        """The labels of :meth:`predict_proba`'s columns, in order (scikit-learn's ``classes_``), for the model's
        own label set; with ``labels=NAME`` the columns are ``get_labelset(NAME).labels``."""
        return np.array(self.labelset.labels, dtype=object)

    def predict_proba(self, X: Sequence[Any], labels: "str | LabelSet | None" = None) -> np.ndarray:
        """The soft distribution ``(n, K)`` over the label set (NaN rows for failed inputs); column ``j`` is
        ``classes_[j]``."""
        return self.analyze_batch(list(X), labels).dist

    def predict(self, X: Sequence[Any], labels: "str | LabelSet | None" = None) -> np.ndarray:
        """The top emotion of each input (``None`` for failed inputs)."""
        batch = self.analyze_batch(list(X), labels)
        names = np.array(batch.labelset.labels, dtype=object)
        ok = ~np.isnan(batch.dist).any(axis=1)
        top = names[np.nan_to_num(batch.dist, nan=-1).argmax(axis=1)]
        return np.where(ok, top, np.array(None, dtype=object))

    def predict_labels(self, X: Sequence[Any], labels: "str | LabelSet | None" = None) -> list[list[str]]:
        """Multi-label decisions (per-label thresholds) for each input."""
        batch = self.analyze_batch(list(X), labels)
        names = batch.labelset.labels
        return [[names[j] for j in np.flatnonzero(row)] for row in batch.decisions()]

    def predict_vad(self, X: Sequence[Any], scale: str = "-1..1") -> np.ndarray:
        """``(n, 3)`` valence, arousal, dominance on ``scale`` (NaN where unknown)."""
        from affectkit.vad import convert

        batch = self.analyze_batch(list(X))
        if batch.vad is None:
            return np.full((len(batch), 3), np.nan)
        return convert(batch.vad, batch.vad_scale, scale)

    def close(self) -> None:
        """Release resources (servers, sessions). Safe to call twice. A closed analyzer leaves the cache of
        :func:`affectkit.load`, which makes a new one next time; subclasses call ``super().close()``."""
        self.closed = True
        _run_close_hooks(self)

    def __enter__(self) -> "Analyzer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
        _run_close_hooks(self)  # also when a subclass's close() does not call ours

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, labelset={self.labelset.name!r})"
