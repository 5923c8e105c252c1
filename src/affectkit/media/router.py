"""``media:auto``: one analyzer over a mix of files, each routed by its content to the analyzer of its modality."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from affectkit.analyzers.base import Analyzer
from affectkit.labels import LabelSet, get_labelset
from affectkit.media.base import (
    MEDIA_FIELDS,
    MediaAnalyzer,
    MediaError,
    ordered_fields,
    path_and_modality,
)
from affectkit.media.registry import DEFAULT_FOR_MODALITY, media_class
from affectkit.schema import BatchPrediction


class MediaRouter(Analyzer):
    """Routes each path to the analyzer for its modality (``routes``: modality -> analyzer name); rows keep their
    order and every row has the columns of every routed analyzer."""

    name = "media"
    modality = "media"
    max_batch_chars = None

    def __init__(self, routes: dict[str, str] | None = None, labelset: str = "ekman", **options: Any) -> None:
        self.routes = dict(routes or DEFAULT_FOR_MODALITY)
        self.labelset = get_labelset(labelset)
        self.options = options  # passed to every analyzer this router makes
        self._analyzers: dict[str, MediaAnalyzer] = {}
        self.fields = list(MEDIA_FIELDS)
        for name in dict.fromkeys(self.routes.values()):
            try:
                extra = media_class(name).fields  # type: ignore[attr-defined]
            except MediaError:  # not installed: its files get an error row saying so
                continue
            self.fields += [f for f in extra if f not in self.fields]

    def analyzer_for(self, modality: str) -> MediaAnalyzer:
        if modality not in self.routes:
            raise MediaError(f"no media analyzer reads {modality} files"
                             + (" (give a text file as the input table instead)" if modality == "text" else ""))
        name = self.routes[modality]
        if name not in self._analyzers:
            from affectkit.media.registry import make_media_analyzer

            self._analyzers[name] = make_media_analyzer(name, **self.options)
        return self._analyzers[name]

    def check(self, item: Any) -> tuple[Any, str | None]:
        found, err = path_and_modality(item)
        if found is None:
            return None, err
        try:
            self.analyzer_for(found[1])
        except MediaError as e:
            return None, str(e)
        return found, None

    def predict_batch(self, items: list[Any], labels: LabelSet | None = None) -> BatchPrediction:
        target = labels or self.labelset
        if not items:
            return self._filled(BatchPrediction(target, np.zeros((0, len(target))), vad=np.zeros((0, 3)),
                                                intensity=np.zeros(0), model=self.name))
        groups: dict[str, list[int]] = {}
        for i, (_, modality) in enumerate(items):
            groups.setdefault(modality, []).append(i)
        parts, positions = [], []
        for modality, idx in groups.items():
            part = self.analyzer_for(modality).analyze_batch([items[i][0] for i in idx], target)
            parts.append(self._filled(part))
            positions += idx
        merged = BatchPrediction.concat(parts)
        return self._filled(BatchPrediction.scatter(len(items), positions, merged, {}, target, self.name))

    def analyze_segments_batch(self, items: Sequence[Any], labels: str | LabelSet | None = None,
                               first_parent: int = 0) -> BatchPrediction:
        """The ``--segments`` table over mixed files (see :meth:`MediaAnalyzer.analyze_segments_batch`)."""
        target = get_labelset(labels) if labels is not None else self.labelset
        parts = []
        for i, item in enumerate(items):
            value, err = self.check(item)
            if err is not None:
                row = BatchPrediction.failed(target, [err], self.name)
                row.extra.update({"segment": [None], "parent": [first_parent + i]})
            else:
                row = self.analyzer_for(value[1]).analyze_segments_batch([value[0]], target, first_parent + i)
            parts.append(self._filled(row))
        return BatchPrediction.concat(parts) if parts else self.predict_batch([], target)

    def _filled(self, batch: BatchPrediction) -> BatchPrediction:
        batch.extra = ordered_fields(batch.extra, self.fields, len(batch))
        return batch

    def info(self) -> dict[str, Any]:
        return {**super().info(), "routes": self.routes}

    def close(self) -> None:
        for analyzer in self._analyzers.values():
            analyzer.close()
        super().close()
