"""Where the LLM analyzer's server, model, key and options come from, and how secrets stay out of logs.

Each setting is taken from the first place that has it:

1. keyword arguments (``affectkit.load("llm:...", mode="hybrid")``) and the model spec
   ``llm:MODEL[@BASE_URL][?option=value&...]``;
2. environment variables: ``AFFECTKIT_LLM_BASE_URL`` (else ``OPENAI_BASE_URL``), ``AFFECTKIT_LLM_MODEL``,
   ``AFFECTKIT_LLM_API_KEY`` (else ``OPENAI_API_KEY``), and ``AFFECTKIT_LLM_<OPTION>`` for any other option;
3. a YAML config file: the ``config=`` argument, else ``$AFFECTKIT_LLM_CONFIG``, else
   ``$XDG_CONFIG_HOME/affectkit/llm.yaml`` (``~/.config/affectkit/llm.yaml``), holding the same keys
   (``api_key_env: NAME`` reads the key from another variable instead of storing it in the file);
4. the defaults below.

The API key is held in a :class:`Secret`, which never prints its value; :func:`redact` removes it from any text
that might reach a log, an error column or a job manifest.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import yaml

from affectkit.errors import AffectkitError

MODES = ("classify", "describe", "hybrid")
OUTPUTS = ("vad", "intensity", "evidence", "cause", "explanation")
STRUCTURED = ("auto", "json_schema", "json_object", "none")


class LLMConfigError(AffectkitError):
    """The LLM analyzer is missing a setting (server, model) or was given an invalid one."""


class Secret:
    """A string that does not show itself in ``repr``, ``str`` or f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str | None) -> None:
        self._value = value or None

    def get(self) -> str | None:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret(None)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass
class LLMSettings:
    """Everything the LLM analyzer needs; see the module docstring for where each value comes from."""

    base_url: str | None = None
    model: str | None = None
    api_key: Secret = field(default_factory=lambda: Secret(None))
    mode: str = "classify"  # classify | describe (open vocabulary) | hybrid (HEF)
    labels: str = "ekman"  # label set used when the caller gives none
    outputs: tuple[str, ...] = OUTPUTS  # optional outputs asked for besides the emotions
    max_emotions: int = 3
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int | None = 0
    timeout: float = 60.0  # seconds per request, all of it (connect, send, the whole reply): a deadline, not per read
    max_retries: int = 4  # retries after the first attempt, for 408/429/5xx, timeouts and broken connections
    backoff: float = 0.5  # first retry delay in seconds; doubles each retry (with jitter), capped at max_backoff
    max_backoff: float = 30.0
    concurrency: int = 4  # requests in flight at once
    max_reply_bytes: int = 1_000_000  # the most of a reply that is read; a larger one is a row error
    breaker: int = 5  # after this many requests in a row fail for good, fail rows at once (0 = never)
    structured: str = "auto"  # auto | json_schema | json_object | none
    disk_cache: bool = True  # cache successful replies on disk (see cache_dir)
    cache_dir: str | None = None
    prompts_dir: str | None = None  # a folder of prompt files that override the shipped ones by name
    base: str = "default"  # hybrid mode: the small model whose top emotions and trigger words go into the prompt
    base_top_k: int = 3

    def validate(self) -> "LLMSettings":
        if self.mode not in MODES:
            raise LLMConfigError(f"unknown LLM mode {self.mode!r}; choose one of {', '.join(MODES)}")
        bad = [o for o in self.outputs if o not in OUTPUTS]
        if bad:
            raise LLMConfigError(f"unknown LLM outputs {bad}; choose from {', '.join(OUTPUTS)}")
        if self.structured not in STRUCTURED:
            raise LLMConfigError(f"unknown structured-output mode {self.structured!r}; choose one of "
                                 f"{', '.join(STRUCTURED)}")
        for name in ("max_emotions", "max_tokens", "concurrency", "base_top_k", "max_reply_bytes"):
            if getattr(self, name) < 1:
                raise LLMConfigError(f"{name} must be at least 1")
        if self.timeout <= 0 or self.max_retries < 0 or self.backoff < 0 or self.breaker < 0:
            raise LLMConfigError("timeout must be positive; max_retries, backoff and breaker must not be negative")
        return self

    def public(self) -> dict[str, Any]:
        """The settings safe to show or store: no key, and no credentials inside the base URL."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "api_key"}
        out["base_url"] = redact_url(self.base_url)
        out["outputs"] = list(self.outputs)
        out["api_key"] = "***" if self.api_key else None
        return out


_FIELDS = {f.name: f for f in fields(LLMSettings)}


def _coerce(name: str, value: Any) -> Any:
    """Turn a string (from the environment, a spec query or YAML) into the field's type."""
    if name not in _FIELDS:
        raise LLMConfigError(f"unknown LLM option {name!r}; options are: {', '.join(sorted(_FIELDS))}")
    if name == "api_key":
        return value if isinstance(value, Secret) else Secret(None if value is None else str(value))
    default = getattr(LLMSettings(), name)
    if value is None:
        return None
    if name == "outputs":
        if isinstance(value, str):
            value = [] if value.strip().lower() in ("", "none") else value.split(",")
        return tuple(str(v).strip() for v in value if str(v).strip())
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                if value.strip().lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                    raise ValueError(value)
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        if isinstance(default, int) or name == "seed":
            return None if str(value).lower() == "none" else int(value)
        if isinstance(default, float):
            return float(value)
    except ValueError:
        raise LLMConfigError(f"LLM option {name}={value!r} is not a valid {type(default).__name__}") from None
    return str(value)


def parse_spec(arg: str) -> dict[str, Any]:
    """Split the part after ``llm:`` into settings: ``MODEL[@BASE_URL][?key=value&...]``.

    ``llm:qwen2.5:7b@http://localhost:11434/v1?mode=hybrid`` gives model ``qwen2.5:7b``, that base URL and mode
    ``hybrid``. An empty model (``llm:`` or ``llm:@URL``) leaves the model to the environment or config file,
    or, when the server serves exactly one model, to the server.
    """
    out: dict[str, Any] = {}
    main, _, query = arg.partition("?")
    model, at, url = main.partition("@")
    if model.strip():
        out["model"] = model.strip()
    if at and url.strip():
        out["base_url"] = url.strip()
    for key, value in parse_qsl(query, keep_blank_values=True):
        out[key.strip()] = _coerce(key.strip(), value)
    return out


def config_path(explicit: str | Path | None = None) -> Path | None:
    """The config file to read, if any (see the module docstring)."""
    if explicit:
        p = Path(explicit).expanduser()
        if not p.is_file():
            raise LLMConfigError(f"LLM config file not found: {p}")
        return p
    env = os.environ.get("AFFECTKIT_LLM_CONFIG")
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise LLMConfigError(f"AFFECTKIT_LLM_CONFIG points to a missing file: {p}")
        return p
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    p = base / "affectkit" / "llm.yaml"
    return p if p.is_file() else None


def _from_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise LLMConfigError(f"cannot read LLM config {path}: {e}") from None
    if not isinstance(raw, dict):
        raise LLMConfigError(f"LLM config {path} must be a mapping of option: value")
    raw = dict(raw)
    key_env = raw.pop("api_key_env", None)
    if key_env and "api_key" not in raw:
        raw["api_key"] = os.environ.get(str(key_env))
    return {k: _coerce(k, v) for k, v in raw.items()}


def _from_env() -> dict[str, Any]:
    env = os.environ
    out: dict[str, Any] = {}
    pairs = {"base_url": ("AFFECTKIT_LLM_BASE_URL", "OPENAI_BASE_URL"), "model": ("AFFECTKIT_LLM_MODEL",),
             "api_key": ("AFFECTKIT_LLM_API_KEY", "OPENAI_API_KEY")}
    for name, names in pairs.items():
        for var in names:
            if env.get(var):
                out[name] = _coerce(name, env[var])
                break
    for name in _FIELDS:
        var = f"AFFECTKIT_LLM_{name.upper()}"
        if name not in pairs and env.get(var):
            out[name] = _coerce(name, env[var])
    return out


def resolve_settings(spec: str = "", config: str | Path | None = None, **kwargs: Any) -> LLMSettings:
    """Merge keyword arguments and spec > environment > config file > defaults into :class:`LLMSettings`."""
    merged: dict[str, Any] = {}
    merged.update(_from_file(config_path(config)))
    merged.update(_from_env())
    merged.update(parse_spec(spec))
    merged.update({k: _coerce(k, v) for k, v in kwargs.items() if v is not None})
    settings = LLMSettings(**merged).validate()
    if settings.base_url:
        settings.base_url = settings.base_url.rstrip("/")
    return settings


def redact_url(url: str | None) -> str | None:
    """A URL without the ``user:password@`` part."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return url


_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._\-~+/=]{6,}")


def redact(text: str, *secrets: "Secret | str | None") -> str:
    """Remove secrets (and any bearer token) from ``text`` before it is logged or stored."""
    for s in secrets:
        value = s.get() if isinstance(s, Secret) else s
        if value and len(value) >= 4:
            text = text.replace(value, "***")
            if len(value) >= 12:  # servers often echo a key shortened, e.g. "sk-abc...wxyz"
                text = text.replace(value[:8], "***").replace(value[-4:], "***")
    return _BEARER.sub(r"\1***", text)
