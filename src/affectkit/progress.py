"""One progress bar for every long job (on standard error, off with ``enabled=False``; tqdm)."""

from __future__ import annotations

import sys
from typing import Any


def progress_bar(total: int | None, unit: str, enabled: bool, desc: str = "analyze") -> Any:
    """A tqdm bar counting ``unit``s (``total`` may be unknown) that resizes with the terminal."""
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=unit, unit_scale=True, disable=not enabled, file=sys.stderr, dynamic_ncols=True,
                desc=desc)
