"""LLM analyzers: zero-shot, open-vocabulary and hybrid emotion analysis on any OpenAI-compatible chat server.

Importing this package registers the ``llm:`` model spec (``affectkit.load("llm:MODEL@BASE_URL")``); the
analyzer itself (and its dependencies, the ``llm`` extra) loads on first use. See ``docs/llm.md``.
"""

from __future__ import annotations

from typing import Any

from affectkit.analyzers import register
from affectkit.analyzers.base import Analyzer
from affectkit.errors import UnknownModelError


def _factory(arg: str, **kwargs: Any) -> Analyzer:
    try:
        from affectkit.llm.analyzer import LLMAnalyzer
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise UnknownModelError(f"llm: models need the llm extra (pip install 'affectkit[llm]'): {e}") from None
    return LLMAnalyzer.from_spec(arg, **kwargs)


register("llm", _factory)


def __getattr__(name: str) -> Any:
    if name in ("LLMAnalyzer", "Answer"):
        from affectkit.llm import analyzer

        return getattr(analyzer, name)
    if name in ("LLMSettings", "resolve_settings"):
        from affectkit.llm import settings

        return getattr(settings, name)
    if name in ("ChatClient", "ChatResult"):
        from affectkit.llm import client

        return getattr(client, name)
    raise AttributeError(name)


__all__ = ["LLMAnalyzer", "Answer", "LLMSettings", "resolve_settings", "ChatClient", "ChatResult"]
