"""Analyzers and how a model name resolves to one.

``affectkit.load(spec)`` accepts:

- ``default`` / ``fast``: the models shipped inside the package;
- a path to a model folder (one with ``affectkit_model.json``);
- ``lexicon:PATH[,PATH...]``: a lexicon analyzer over user-supplied lexicon files;
- ``hf:ID_OR_PATH``: a Hugging Face sequence classifier (``hf`` extra);
- other prefixes registered with :func:`register` (for example ``llm:`` by the LLM analyzer).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Callable

from affectkit.analyzers.base import CLOSE_HOOKS, Analyzer
from affectkit.errors import UnknownModelError

_FACTORIES: dict[str, Callable[..., Analyzer]] = {}
_CACHE: dict[tuple, Analyzer] = {}


def register(prefix: str, factory: Callable[..., Analyzer]) -> None:
    """Make ``PREFIX:ARG`` model specs resolve through ``factory(ARG, **kwargs)``."""
    _FACTORIES[prefix] = factory


def pretrained_dir() -> Path:
    return Path(str(resources.files("affectkit").joinpath("pretrained")))


def shipped_models() -> list[str]:
    root = pretrained_dir()
    return sorted(p.name for p in root.iterdir() if (p / "affectkit_model.json").exists()) if root.exists() else []


def _lexicon(arg: str, **kwargs: Any) -> Analyzer:
    from affectkit.analyzers.lexicon import LexiconAnalyzer

    return LexiconAnalyzer([p for p in arg.split(",") if p], **kwargs)


def _hf(arg: str, **kwargs: Any) -> Analyzer:
    try:
        from affectkit.analyzers.hf import HFClassifierAnalyzer

        return HFClassifierAnalyzer(arg, **kwargs)  # imports torch and transformers
    except ImportError as e:
        raise UnknownModelError(f"hf: models need the hf extra (pip install 'affectkit[hf]'): {e}") from None


register("lexicon", _lexicon)
register("hf", _hf)


def load(spec: "str | Path | Analyzer" = "default", cache: bool = True, **kwargs: Any) -> Analyzer:
    """Resolve a model name, path or ``prefix:arg`` spec to an :class:`Analyzer` (cached per process)."""
    if isinstance(spec, Analyzer):
        return spec
    key = (str(spec), tuple(sorted(kwargs.items())))
    if cache and key in _CACHE and not getattr(_CACHE[key], "closed", False):
        return _CACHE[key]
    analyzer = _resolve(str(spec), **kwargs)
    if cache:
        _CACHE[key] = analyzer
    return analyzer


def forget(analyzer: Analyzer) -> None:
    """Drop ``analyzer`` from the cache of :func:`load` (it was closed: the next ``load`` makes a new one)."""
    for key in [k for k, a in _CACHE.items() if a is analyzer]:
        del _CACHE[key]


CLOSE_HOOKS.append(forget)


def _resolve(spec: str, **kwargs: Any) -> Analyzer:
    from affectkit.model import CONFIG_FILE, AffectModel

    if spec in shipped_models():
        return AffectModel.load(pretrained_dir() / spec, **kwargs)
    path = Path(spec)
    if path.is_dir() and (path / CONFIG_FILE).exists():
        return AffectModel.load(path, **kwargs)
    prefix, sep, arg = spec.partition(":")
    if sep and prefix not in _FACTORIES:
        _ensure_plugins()
    if sep and prefix in _FACTORIES:
        return _FACTORIES[prefix](arg, **kwargs)
    if path.is_dir():
        raise UnknownModelError(f"{spec} is a folder but not an affectkit model (no {CONFIG_FILE})")
    known = ", ".join(shipped_models()) or "(none installed)"
    raise UnknownModelError(f"unknown model {spec!r}. Shipped models: {known}; or give a model folder, "
                            f"or one of the prefixes {', '.join(p + ':' for p in sorted(_FACTORIES))}")


def _ensure_plugins() -> None:
    """Import optional analyzer modules so they can register their prefixes."""
    import importlib

    for mod in ("affectkit.llm", "affectkit.media", "affectkit.vision", "affectkit.audio",
                "affectkit.evaluation.baselines"):
        try:
            importlib.import_module(mod)
        except ImportError:
            pass


__all__ = ["Analyzer", "load", "register", "shipped_models", "pretrained_dir"]
