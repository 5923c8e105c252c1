"""Prompt templates: one YAML file per task in ``affectkit/llm/prompts/``, each with a name and a version.

A template holds a system message, a user message (``string.Template`` syntax: ``$text``, ``$label_list``, ...)
and the JSON schema of the reply. Analysis templates (``classify``, ``describe``, ``hybrid``) also ``use`` the
shared optional outputs in ``outputs.yaml`` (VAD, intensity, evidence, cause, explanation): each requested output
adds an instruction line and its properties to the schema. In a schema, a string ``"$name"`` is replaced by the
variable ``name``; a key whose variable is ``None`` is dropped (e.g. the label ``enum`` in open-vocabulary mode).

The version (``classify@1+outputs@1``) is part of every cache key. A folder given as ``prompts_dir`` overrides
shipped templates file by file.
"""

from __future__ import annotations

import copy
import string
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from affectkit.llm.settings import LLMConfigError

_PACKAGE = "affectkit.llm.prompts"
_DROP = object()


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: str
    system: str
    user: str
    schema: dict[str, Any]
    uses: "PromptTemplate | None" = None
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # other keys of the file (e.g. compare's questions)
    path: str = ""

    @property
    def id(self) -> str:
        """Name and version, including those of the shared outputs it uses: ``classify@1+outputs@1``."""
        own = f"{self.name}@{self.version}"
        return own if self.uses is None else f"{own}+{self.uses.id}"

    def render(self, variables: dict[str, Any], outputs: tuple[str, ...] = ()) -> "RenderedPrompt":
        """Fill the template: chat messages plus the reply schema, with the requested optional ``outputs``."""
        shared = self.uses.fields if self.uses is not None else {}
        unknown = [o for o in outputs if o not in shared]
        if unknown:
            raise LLMConfigError(f"prompt {self.name!r} cannot ask for outputs {unknown}")
        schema = copy.deepcopy(self.schema)
        lines = []
        optional: list[str] = []
        for name in outputs:
            spec = shared[name]
            lines.append(" ".join(str(spec["instruction"]).split()))
            schema.setdefault("properties", {}).update(copy.deepcopy(spec["properties"]))
            schema.setdefault("required", []).extend(spec["properties"])
            optional.extend(spec["properties"])
        text_vars = {k: "" if v is None else str(v) for k, v in variables.items()}
        text_vars["instructions"] = "\n".join(lines)
        try:
            system = string.Template(self.system).substitute(text_vars)
            user = string.Template(self.user).substitute(text_vars)
        except (KeyError, ValueError) as e:
            raise LLMConfigError(f"prompt {self.path or self.name}: no value for placeholder {e}") from None
        messages = [{"role": "system", "content": system.strip()}, {"role": "user", "content": user.strip()}]
        return RenderedPrompt(self.id, messages, _fill_schema(schema, variables), tuple(optional))


@dataclass(frozen=True)
class RenderedPrompt:
    """Chat messages and the JSON schema the reply must follow. ``optional`` names the reply fields of the
    optional outputs: asked for (required in the schema sent, so constrained decoding writes them), but a reply
    whose value there is invalid or missing loses only that field (dropped with a note), not the row."""

    prompt_id: str
    messages: list[dict[str, str]]
    schema: dict[str, Any]
    optional: tuple[str, ...] = ()


def _fill_schema(node: Any, variables: dict[str, Any]) -> Any:
    if isinstance(node, str) and node.startswith("$") and node[1:].isidentifier():
        if node[1:] not in variables:
            raise LLMConfigError(f"prompt schema placeholder {node} has no value")
        value = variables[node[1:]]
        return _DROP if value is None else value
    if isinstance(node, dict):
        out = {k: _fill_schema(v, variables) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not _DROP}
    if isinstance(node, list):
        return [_fill_schema(v, variables) for v in node]
    return node


def _read(name: str, prompts_dir: str | None) -> tuple[dict[str, Any], str]:
    if prompts_dir:
        path = Path(prompts_dir).expanduser() / f"{name}.yaml"
        if path.is_file():
            return yaml.safe_load(path.read_text(encoding="utf-8")), str(path)
    res = resources.files(_PACKAGE).joinpath(f"{name}.yaml")
    if not res.is_file():
        raise LLMConfigError(f"no prompt template {name!r} (looked in {prompts_dir or 'the shipped prompts'})")
    return yaml.safe_load(res.read_text(encoding="utf-8")), f"{_PACKAGE}/{name}.yaml"


@lru_cache(maxsize=64)
def load_template(name: str, prompts_dir: str | None = None) -> PromptTemplate:
    """Load the template ``name`` (``classify``, ``describe``, ``hybrid``, ``cause``, ``explain``, ``compare``,
    ``judge``), from ``prompts_dir`` when it has one, else the shipped one."""
    raw, path = _read(name, prompts_dir)
    if not isinstance(raw, dict) or "version" not in raw:
        raise LLMConfigError(f"prompt file {path} must be a mapping with a 'version'")
    uses = load_template(raw["uses"], prompts_dir) if raw.get("uses") else None
    known = {"name", "version", "system", "user", "schema", "uses", "fields"}
    return PromptTemplate(str(raw.get("name", name)), str(raw["version"]), str(raw.get("system", "")),
                          str(raw.get("user", "")), dict(raw.get("schema") or {}), uses,
                          dict(raw.get("fields") or {}), {k: v for k, v in raw.items() if k not in known}, path)


def relaxed_schema(schema: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """The schema a reply is validated against: as sent, minus every ``enum``, and with the ``optional`` fields
    (the optional outputs) no longer required. Enums guide constrained decoding; a reply from a server without it
    may use another word (mapped onto the label set through the Parrott vocabulary, or reported) or another
    in-range number (kept; ``minimum``/``maximum`` and types still apply)."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items() if k != "enum"}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    out = walk(schema)
    if optional and isinstance(out.get("required"), list):
        out["required"] = [r for r in out["required"] if r not in optional]
    return out
