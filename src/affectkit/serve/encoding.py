"""Response bodies of the service as JSON bytes: orjson where it is installed (the ``serve`` extra has it), the
standard library otherwise, and the same JSON values either way.

Encoding the predictions was the largest piece of the event loop's own work per single-text request: a
prediction of the ``default`` model (28 labels: distribution and scores, evidence) is about 2.7 KB of JSON,
51 microseconds with ``json.dumps`` and 9 with ``orjson.dumps`` (``benchmarks/serve_request_cpu.py`` measures
these; docs/serve.md has the figures). A client that needs only some fields asks for them (``fields``), which
shortens the response as well.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from typing import Any

from affectkit.jsonable import json_default
from affectkit.schema import BatchPrediction, Prediction

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is in the serve extra
    orjson = None  # type: ignore[assignment]

PREDICTION_FIELDS = tuple(f.name for f in dataclass_fields(Prediction))


def check_fields(names: Collection[str] | None) -> list[str] | None:
    """``names`` in the order given, without repeats, or a ``ValueError`` naming the unknown ones."""
    if names is None:
        return None
    unknown = [n for n in names if n not in PREDICTION_FIELDS]
    if unknown:
        raise ValueError(f"unknown prediction field(s) {', '.join(map(repr, unknown))}; the fields are: "
                         f"{', '.join(PREDICTION_FIELDS)}")
    return list(dict.fromkeys(names))


def dumps(value: Any) -> bytes:
    """``value`` as UTF-8 JSON; text with lone surrogates (not UTF-8) gets ``\\uXXXX`` escapes, still valid JSON."""
    if orjson is not None:
        try:
            return orjson.dumps(value, default=json_default, option=orjson.OPT_SERIALIZE_NUMPY)
        except TypeError:  # orjson.JSONEncodeError: lone surrogates, or a type json_default leaves to json
            pass
    return json.dumps(value, ensure_ascii=False, allow_nan=False, default=json_default).encode(
        "utf-8", "backslashreplace")


def prediction_json(prediction: Prediction, fields: Collection[str] | None = None) -> bytes:
    """``Prediction.to_dict()`` (only ``fields`` of it, when given: see :func:`check_fields`) as JSON bytes."""
    value = prediction.to_dict()
    if fields is not None:
        value = {name: value[name] for name in fields}
    return dumps(value)


def json_object(head: dict[str, Any], key: str, items: list[bytes]) -> bytes:
    """The JSON object ``head`` plus ``key``: the list of already-encoded JSON values ``items``."""
    start = dumps(head)[:-1] + (b", " if head else b"")
    return start + dumps(key) + b": [" + b",".join(items) + b"]}"


@dataclass(frozen=True)
class RenderJSON:
    """Predictions of a batch as JSON bytes, one per row: what a ``format=json`` request gets. Hashable and
    equal by value, so the micro-batcher renders all the rows of the requests that ask the same once, in the
    model thread (:meth:`affectkit.serve.batcher.MicroBatcher.analyze`)."""

    top_k: int = 3
    vad_scale: str | None = None
    fields: tuple[str, ...] | None = None
    at_least_one_label: bool = False

    def __call__(self, batch: BatchPrediction) -> list[bytes]:
        if self.at_least_one_label:
            batch = batch.always_labelled()
        return [prediction_json(p, self.fields) for p in batch.to_predictions(self.top_k, self.vad_scale)]
