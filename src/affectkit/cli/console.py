"""Messages on stderr that keep clear of progress bars: each gets a line of its own, and the bar is redrawn below."""

from __future__ import annotations

import logging
import sys


def say(message: str) -> None:
    """Print ``message`` to stderr on a line of its own, even while a progress bar is drawn there."""
    from tqdm import tqdm

    tqdm.write(message, file=sys.stderr)


class ProgressSafeHandler(logging.Handler):
    """A logging handler that writes through :func:`say`, so warnings do not land on a progress bar's line."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            say(self.format(record))
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)
