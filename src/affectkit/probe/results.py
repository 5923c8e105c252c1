"""What a probe run produces: one :class:`LayerScore` per (task, model, variant, layer), written atomically as
``results.json`` (strict JSON)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from affectkit.jsonable import to_jsonable


@dataclass
class LayerScore:
    """One probe's test score at one layer (``layer`` is -1 for the bag-of-words baseline)."""

    task: str
    model: str
    variant: str
    layer: int
    metric: str
    score: float
    ci_low: float
    ci_high: float
    dev_score: float
    penalty: float
    n_train: int
    n_dev: int
    n_test: int


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def results_payload(rows: list[LayerScore], meta: dict[str, Any]) -> str:
    """``results.json``: the options and every row; an undefined value (no bootstrap) is ``null``, not NaN."""
    return json.dumps(to_jsonable({**meta, "rows": [asdict(r) for r in rows]}), indent=2, default=str,
                      allow_nan=False)
