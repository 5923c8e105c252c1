"""Checking input items before they reach a model. A bad item gets a message; it never stops the batch."""

from __future__ import annotations

import math
from typing import Any

MAX_TEXT_CHARS = 10_000_000  # beyond this an item is refused, with a message; below it, long texts are segmented


def check_text(item: Any) -> tuple[str | None, str | None]:
    """Return ``(text, None)`` for a usable text, else ``(None, reason)``."""
    if item is None or (isinstance(item, float) and math.isnan(item)) or type(item).__name__ in ("NAType", "NaTType"):
        return None, "missing text"
    if isinstance(item, (bytes, bytearray)):
        try:
            item = bytes(item).decode("utf-8")
        except UnicodeDecodeError as e:
            return None, f"invalid UTF-8: byte 0x{item[e.start]:02x} at offset {e.start}"
    if not isinstance(item, str):
        return None, f"expected text, got {type(item).__name__} {_preview(item)}"
    bad = _first_surrogate(item)
    if bad is not None:
        return None, f"invalid UTF-8: byte 0x{ord(item[bad]) - 0xDC00:02x} at character {bad}"
    if not item.strip():
        return None, "empty text" if not item else "text is only whitespace"
    if len(item) > MAX_TEXT_CHARS:
        return None, f"text has {len(item):,} characters, over the limit of {MAX_TEXT_CHARS:,}"
    return item, None


def _first_surrogate(text: str) -> int | None:
    # Bytes that were not valid UTF-8 arrive as lone surrogates U+DC80..U+DCFF (errors="surrogateescape").
    for i, ch in enumerate(text):
        if "\udc80" <= ch <= "\udcff":
            return i
    return None


def _preview(item: Any) -> str:
    s = repr(item)
    return s if len(s) <= 40 else s[:37] + "..."


def clean_for_output(value: Any) -> Any:
    """Replace undecodable bytes (lone surrogates) in a string so it can be written as UTF-8."""
    if isinstance(value, str) and any("\udc80" <= ch <= "\udcff" for ch in value):
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return value
