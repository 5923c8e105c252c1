"""One JSON sanitiser: numpy scalars and arrays, paths, timestamps and missing values turned into what strict JSON
(RFC 8259: no NaN or Infinity) can hold. Used by every writer of JSON in the package."""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import PurePath
from typing import Any

import numpy as np


def to_jsonable(v: Any) -> Any:
    """``v`` with numpy scalars as Python numbers, arrays and tuples as lists, non-finite floats and pandas'
    missing markers (``NA``, ``NaT``) as ``None``, paths as strings, dates as ISO 8601; dict keys as strings."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if v is None or isinstance(v, (str, int, bool)):
        return v
    if isinstance(v, dict):
        return {str(k): to_jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [to_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return [to_jsonable(x) for x in v.tolist()]
    if isinstance(v, PurePath):
        return str(v)
    if type(v).__name__ in ("NAType", "NaTType"):  # pandas.NA / pandas.NaT, without importing pandas
        return None
    if isinstance(v, (datetime, date)):  # pandas.Timestamp is a datetime
        return v.isoformat()
    return v


def json_default(o: Any) -> Any:
    """A ``default=`` hook for ``json.dumps``: what :func:`to_jsonable` converts, else ``TypeError``."""
    out = to_jsonable(o)
    if out is o:
        raise TypeError(f"not JSON serialisable: {type(o).__name__}")
    return out
