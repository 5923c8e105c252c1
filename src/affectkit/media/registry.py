"""Which analyzer each ``media:NAME`` spec and each modality runs (name -> ``"module:Class"``, imported when first
used)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from affectkit.media.base import MediaAnalyzer, MediaError

#: analyzer name -> "module:Class" (a class whose constructor takes keyword options only)
MEDIA_ANALYZERS: dict[str, str] = {
    "face": "affectkit.media.face:FaceAnalyzer",
    "scene": "affectkit.media.scene:SceneAnalyzer",
    "speech": "affectkit.media.speech:SpeechAnalyzer",
    "video": "affectkit.media.video:VideoAnalyzer",
}
#: what ``media:auto`` runs for each modality
DEFAULT_FOR_MODALITY: dict[str, str] = {"image": "face", "audio": "speech", "video": "video"}


def register_media(name: str, target: str) -> None:
    """Make ``media:NAME`` resolve to ``target`` (``"module:Class"``)."""
    MEDIA_ANALYZERS[name] = target


def media_class(name: str) -> Callable[..., MediaAnalyzer]:
    if name not in MEDIA_ANALYZERS:
        raise MediaError(f"unknown media analyzer {name!r}; known: {', '.join(sorted(MEDIA_ANALYZERS))}")
    module, _, cls = MEDIA_ANALYZERS[name].partition(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except ImportError as e:
        extra = "audio" if name in ("speech", "video") else "media"
        raise MediaError(f"media analyzer {name!r} needs the {extra} extra "
                         f"(pip install 'affectkit[{extra}]'): {e}") from None


def make_media_analyzer(name: str, **kwargs: Any) -> MediaAnalyzer:
    return media_class(name)(**kwargs)
