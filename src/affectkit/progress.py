"""One progress bar for every long job (on standard error, off with ``enabled=False``; tqdm)."""

from __future__ import annotations

import sys
from typing import Any


def progress_bar(total: int | None, unit: str, enabled: bool, desc: str = "analyze", unit_scale: bool = True,
                 leave: bool = True) -> Any:
    """A tqdm bar counting ``unit``s (``total`` may be unknown) that resizes with the terminal; ``leave=False``
    clears it when done."""
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=unit, unit_scale=unit_scale, disable=not enabled, file=sys.stderr,
                dynamic_ncols=True, desc=desc, leave=leave)
