"""From a model's reply to a validated JSON object, repairing what can be repaired.

Steps: drop ``<think>`` blocks that reasoning models emit; parse strictly; else repair the text with
``json_repair`` (code fences, prose around the object, trailing commas, single quotes, an object cut off at
``max_tokens``); then validate against the reply's JSON schema (``jsonschema``). An invalid optional field (or one
invalid item of a list) is dropped and noted, a number out of range in an optional field (a VAD rating of 23.5
on 1..9) included: it is no rating, and clamping it would invent an extreme one. A number out of range inside a
list item (an emotion's score of 8 on 0..1) is clamped and noted, since the item's label is the answer. An invalid
required field makes the reply fail with a message. Messages quote at most 200 characters of the reply.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import json_repair
from jsonschema import Draft202012Validator

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
MAX_FIX_ROUNDS = 20


class ReplyError(ValueError):
    """The reply could not be turned into an object that follows the schema."""


@dataclass
class ParsedReply:
    data: dict[str, Any]
    repairs: list[str] = field(default_factory=list)  # what was repaired or dropped, for the row's extra


def extract_json(text: str) -> tuple[Any, list[str]]:
    """The JSON value in ``text`` and the repairs needed to read it; raises :class:`ReplyError`."""
    if not isinstance(text, str) or not text.strip():
        raise ReplyError("empty reply")
    repairs: list[str] = []
    stripped = _THINK.sub("", text).strip()
    if stripped != text.strip():
        repairs.append("removed <think> block")
    try:
        return json.loads(stripped), repairs
    except ValueError:
        pass
    value = json_repair.loads(stripped)
    if isinstance(value, list):  # several objects, or an object inside prose and brackets: keep the first object
        value = next((v for v in value if isinstance(v, dict)), value)
    if not isinstance(value, dict) or not value:
        raise ReplyError(f"reply is not a JSON object: {_preview(text)}")
    repairs.append("repaired malformed JSON")
    return value, repairs


def parse_reply(text: str, schema: dict[str, Any]) -> ParsedReply:
    """Parse and validate a reply against ``schema``; drop invalid optional parts, fail on required ones."""
    value, repairs = extract_json(text)
    if not isinstance(value, dict):
        raise ReplyError(f"reply is a JSON {type(value).__name__}, not an object: {_preview(text)}")
    validator = Draft202012Validator(schema)
    required = set(schema.get("required", []))
    for _ in range(MAX_FIX_ROUNDS):
        errors = sorted(validator.iter_errors(value),
                        key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
        if not errors:
            return ParsedReply(value, repairs)
        err = errors[0]
        path = list(err.absolute_path)
        where = _clip("/".join(map(str, path)))
        message = _clip(err.message)
        if not path:  # the object itself: a missing required key, or a wrong type
            raise ReplyError(f"reply does not follow the schema: {message}")
        parent = value
        for p in path[:-1]:
            parent = parent[p]
        if err.validator == "maxItems":
            parent[path[-1]] = err.instance[: err.validator_value]
            repairs.append(f"kept the first {err.validator_value} items of {where}")
            continue
        if err.validator in ("minimum", "maximum") and isinstance(err.instance, (int, float)) and len(path) == 1 \
                and path[0] not in required:
            value.pop(path[0], None)
            repairs.append(f"dropped {where}={_clip(repr(err.instance))}: out of range ({message})")
            continue
        if err.validator in ("minimum", "maximum") and isinstance(err.instance, (int, float)):
            bound = err.validator_value
            parent[path[-1]] = max(err.instance, bound) if err.validator == "minimum" else min(err.instance, bound)
            repairs.append(f"clamped {where}={err.instance} to {bound}")
            continue
        if err.validator == "type" and isinstance(err.instance, str) and _number(err.instance) is not None \
                and err.validator_value in ("number", "integer"):
            x = _number(err.instance)
            assert x is not None
            parent[path[-1]] = int(x) if err.validator_value == "integer" and x.is_integer() else x
            repairs.append(f"read {where} as a number")
            continue
        list_item = next((i for i, p in enumerate(path) if isinstance(p, int)), None)
        if list_item is not None:
            container = value
            for p in path[:list_item]:
                container = container[p]
            del container[path[list_item]]
            repairs.append(f"dropped invalid {_clip('/'.join(map(str, path[: list_item + 1])))}: {message}")
            continue
        if path[0] in required:
            raise ReplyError(f"reply field {where!r} is invalid: {message}")
        value.pop(path[0], None)
        repairs.append(f"dropped invalid {_clip(str(path[0]))}: {message}")
    raise ReplyError("reply has too many schema errors")


def _clip(text: str, n: int = 200) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def _number(text: str) -> float | None:
    try:
        x = float(text.strip().rstrip("%"))
    except ValueError:
        return None
    return x if x == x and abs(x) != float("inf") else None


def _preview(text: str, n: int = 80) -> str:
    text = " ".join(str(text).split())
    return repr(text if len(text) <= n else text[: n - 3] + "...")
