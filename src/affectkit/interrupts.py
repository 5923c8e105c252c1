"""Ctrl-C that is never lost.

Python turns SIGINT into ``KeyboardInterrupt`` in whatever code the main thread is running. When that code is a
finaliser or a weakref callback (the import system runs some), the exception is printed as "Exception ignored in
..." and dropped, and the job runs to its end as if no key had been pressed. :func:`interrupts_recorded` installs
a handler that also *records* the interrupt; :func:`raise_if_interrupted`, called at every progress update
(:func:`affectkit.progress.progress_bar`), raises it again, so a job stops within one chunk.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from types import FrameType
from typing import Iterator

_pressed = threading.Event()


def _record_and_raise(signum: int, frame: FrameType | None) -> None:
    _pressed.set()
    raise KeyboardInterrupt


def raise_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed since :func:`interrupts_recorded` began."""
    if _pressed.is_set():
        raise KeyboardInterrupt


@contextmanager
def interrupts_recorded() -> Iterator[None]:
    """Record Ctrl-C for the duration of the block (main thread only). SIGINT stays untouched when someone else
    owns it: ignored (a background job), or a handler other than Python's default (a debugger, an embedding
    application)."""
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    _pressed.clear()
    signal.signal(signal.SIGINT, _record_and_raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _pressed.clear()
