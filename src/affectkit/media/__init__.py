"""Images, audio and video behind the one :class:`~affectkit.analyzers.base.Analyzer` interface.

Model specs (``affectkit.load`` / ``--model``):

- ``media`` or ``media:auto``: route each file by its content: image -> ``face``, audio -> ``speech``,
  video -> ``video`` (see :data:`DEFAULT_FOR_MODALITY`);
- ``media:face``, ``media:scene``, ``media:speech``, ``media:video``: one analyzer for every file;
- ``media:auto,image=scene``: the router with another analyzer for a modality;
- ``media:face,margin=0.2,whole_image_fallback=1``: options for the analyzer (``KEY=VALUE``, comma-separated).

An analyzer registers with :func:`register_media` (name -> ``"module:Class"``, imported when first used).
"""

from __future__ import annotations

from typing import Any

from affectkit.analyzers import register
from affectkit.media.base import (
    MAX_IMAGE_PIXELS,
    MEDIA_FIELDS,
    MODALITIES,
    SEGMENT_FIELDS,
    MediaAnalyzer,
    MediaError,
    detect_modality,
    open_image,
)
from affectkit.media.registry import (
    DEFAULT_FOR_MODALITY,
    MEDIA_ANALYZERS,
    make_media_analyzer,
    media_class,
    register_media,
)


def _factory(arg: str, **kwargs: Any) -> Any:
    from affectkit.media.router import MediaRouter

    name, _, rest = arg.partition(",")
    name = name.strip() or "auto"
    pairs = [part.split("=", 1) for part in rest.split(",") if part.strip()]
    if any(len(p) != 2 for p in pairs):
        raise MediaError(f"media model options are KEY=VALUE, comma-separated: {arg!r}")
    options = {k.strip(): v.strip() for k, v in pairs}
    if name == "auto":
        routes = {k: options.pop(k) for k in list(options) if k in MODALITIES}
        return MediaRouter(routes={**DEFAULT_FOR_MODALITY, **routes}, **options, **kwargs)
    return make_media_analyzer(name, **options, **kwargs)


register("media", _factory)

__all__ = [
    "DEFAULT_FOR_MODALITY",
    "MAX_IMAGE_PIXELS",
    "MEDIA_ANALYZERS",
    "MEDIA_FIELDS",
    "MODALITIES",
    "SEGMENT_FIELDS",
    "MediaAnalyzer",
    "MediaError",
    "detect_modality",
    "make_media_analyzer",
    "media_class",
    "open_image",
    "register_media",
]
