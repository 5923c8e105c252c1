"""One progress bar for every long job (on standard error, off with ``enabled=False``; tqdm). Every update, shown
or not, is also where a recorded Ctrl-C stops the job (:mod:`affectkit.interrupts`)."""

from __future__ import annotations

import sys
from functools import cache
from typing import Any


@cache
def _bar_class() -> Any:
    from tqdm.auto import tqdm  # imported on first use: the CLI starts faster without it

    from affectkit.interrupts import raise_if_interrupted

    class Bar(tqdm):  # type: ignore[misc,valid-type]
        def update(self, n: float | None = 1) -> bool | None:
            raise_if_interrupted()
            return super().update(n)

    return Bar


def progress_bar(total: int | None, unit: str, enabled: bool, desc: str = "analyze", unit_scale: bool = True,
                 leave: bool = True) -> Any:
    """A tqdm bar counting ``unit``s (``total`` may be unknown) that resizes with the terminal; ``leave=False``
    clears it when done."""
    return _bar_class()(total=total, unit=unit, unit_scale=unit_scale, disable=not enabled, file=sys.stderr,
                        dynamic_ncols=True, desc=desc, leave=leave)
