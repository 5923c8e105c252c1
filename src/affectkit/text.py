"""Checking input items before they reach a model. A bad item gets a message; it never stops the batch."""

from __future__ import annotations

import math
import re
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
        if "\udc80" <= item[bad] <= "\udcff":
            return None, f"invalid UTF-8: byte 0x{ord(item[bad]) - 0xDC00:02x} at character {bad}"
        return None, f"invalid text: unpaired surrogate U+{ord(item[bad]):04X} at character {bad}"
    if not item.strip():
        return None, "empty text" if not item else "text is only whitespace"
    if len(item) > MAX_TEXT_CHARS:
        return None, f"text has {len(item):,} characters, over the limit of {MAX_TEXT_CHARS:,}"
    return item, None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _first_surrogate(text: str) -> int | None:
    # Bytes that were not valid UTF-8 arrive as lone surrogates U+DC80..U+DCFF (errors="surrogateescape"); a JSON
    # escape such as "\ud800" gives any unpaired surrogate. Neither can be encoded, so neither reaches a model.
    if text.isascii():
        return None
    m = _SURROGATE.search(text)
    return m.start() if m else None


def _preview(item: Any) -> str:
    s = repr(item)
    return s if len(s) <= 40 else s[:37] + "..."


def clean_for_output(value: Any) -> Any:
    """Make a value writable as UTF-8: undecodable bytes (U+DC80..U+DCFF) and other unpaired surrogates become
    U+FFFD; lists and dicts (JSONL cells) are cleaned inside."""
    if isinstance(value, str):
        if value.isascii() or _SURROGATE.search(value) is None:
            return value
        value = _UNPAIRED.sub("\ufffd", value)
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if isinstance(value, dict):
        return {clean_for_output(k): clean_for_output(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(clean_for_output(v) for v in value)
    return value


_UNPAIRED = re.compile("[\ud800-\udc7f\udd00-\udfff]")  # surrogates that are not escaped bytes
