"""What every media analyzer shares: modality detection from content, safe image opening, and :class:`MediaAnalyzer`.

Contract (kept stable for the image, speech and video analyzers):

- an item is a path to a file (``str`` or :class:`~pathlib.Path`); :meth:`MediaAnalyzer.check` refuses paths that
  do not exist or whose content (not extension) is not one of the analyzer's :attr:`~MediaAnalyzer.accepts`;
- a subclass implements :meth:`MediaAnalyzer.analyze_segments`: every segment of one file (a face, a time window)
  as a :class:`~affectkit.schema.BatchPrediction` in the analyzer's native label set, one row per segment, its
  per-segment fields (:data:`SEGMENT_FIELDS`, e.g. ``face_box``, ``start``, ``end``, ``transcript``) in ``extra``;
  zero rows is allowed, and a file that cannot be analyzed raises :class:`MediaError` (its row gets the message);
- :meth:`MediaAnalyzer.summarize` folds the segments into the file's one row (default: the weighted mean of the
  segments' distributions, VAD and intensity, weights from ``extra["weight"]`` when present, else equal);
- :meth:`MediaAnalyzer.analyze_segments_batch` gives the ``--segments`` table: one row per segment, with
  ``segment`` (index within the file) and ``parent`` (index of the file in the input); a file with no segment or an
  error keeps one row (``segment`` None) that says why, so no input is lost and rows keep their order.

Every row carries ``modality`` and every field in :data:`MEDIA_FIELDS` (None where it does not apply), so a folder
mixing images and audio gives one table with one set of columns.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from affectkit.analyzers.base import Analyzer
from affectkit.labels import LabelSet, get_labelset
from affectkit.schema import BatchPrediction

log = logging.getLogger(__name__)

MODALITIES = ("image", "audio", "video", "text")
#: columns every media row has (None where they do not apply): the modality, the segment's index within its file
#: and the file's row index (``--segments``), the time window in seconds, the face box ``[x, y, width, height]`` in
#: pixels of the image as stored, and the transcript of speech
MEDIA_FIELDS = ("modality", "segment", "parent", "start", "end", "face_box", "transcript")
SEGMENT_FIELDS = MEDIA_FIELDS[1:]
#: images with more pixels than this are refused before decoding (a decompression bomb decodes a small file into
#: gigabytes); 40 MP is a 7,800 x 5,200 photo, more than any phone camera stores by default
MAX_IMAGE_PIXELS = 40_000_000
#: bytes read to recognise a format
_HEAD = 64


class MediaError(ValueError):
    """A file that cannot be analyzed (corrupt, truncated, too large, no face, silent, unsupported codec);
    its message becomes the row's ``error``."""


# -- modality detection --------------------------------------------------------------------------------------
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*",
                b"\x00\x00\x01\x00")
_AUDIO_MAGIC = (b"fLaC", b"ID3", b"#!AMR", b".snd")
_BMP_HEADER_SIZES = (12, 40, 52, 56, 64, 108, 124)  # a text file may start with "BM": check the DIB header too
_CONTAINER_MAGIC = (b"OggS", b"\x1aE\xdf\xa3", b"RIFF")  # Ogg, Matroska/WebM, RIFF: audio or video, probe streams


#: suffixes of the tables and text files ``affectkit analyze`` reads as text input (the media CLI sends those to
#: the text job; a file with one of them that also looks like text is text without opening Pillow or PyAV)
TABLE_SUFFIXES = frozenset({".csv", ".tsv", ".tab", ".jsonl", ".ndjson", ".json", ".txt", ".parquet", ".gz"})


def _sniff(head: bytes) -> str | None:
    """The modality magic bytes decide on their own, ``"probe"`` when the container must be opened, else None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis", b"heic", b"heix", b"mif1", b"msf1"):
            return "image"
        return "audio" if brand in (b"M4A ", b"M4B ", b"M4P ") else "probe"
    is_bmp = head[:2] == b"BM" and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES
    if head.startswith(_IMAGE_MAGIC) or is_bmp:
        return "image"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "audio"
    if head.startswith(_AUDIO_MAGIC) or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio"
    if head.startswith(_CONTAINER_MAGIC):
        return "probe"
    if head[:4] == b"PAR1":  # a Parquet table
        return "text"
    return None


def _probe_streams(path: Path) -> str | None:
    """``video`` when the container has a video stream that is not just cover art, ``audio`` when it has audio."""
    try:
        import av
    except ImportError:  # pragma: no cover - av is a core media dependency
        return None
    try:
        with av.open(str(path)) as container:
            fmt = container.format.name
            if fmt.startswith("image2") or fmt.endswith("_pipe") or fmt == "tty":  # readers that guess by extension
                return None
            has_video = any(s.type == "video" and not _is_cover_art(s) for s in container.streams)
            has_audio = any(s.type == "audio" for s in container.streams)
    except Exception:  # noqa: BLE001 - PyAV raises many error types for files it cannot read
        return None
    return "video" if has_video else "audio" if has_audio else None


def _is_cover_art(stream: Any) -> bool:
    disposition = getattr(stream, "disposition", None)
    try:
        return bool(disposition is not None and int(disposition) & 0x400)  # AV_DISPOSITION_ATTACHED_PIC
    except (TypeError, ValueError):
        return "attached_pic" in str(disposition)


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start > len(head) - 4  # a multi-byte character cut by the read
    return True


def detect_modality(path: str | Path) -> str:
    """``image``, ``audio``, ``video`` or ``text``, from the file's content (magic bytes, then Pillow and PyAV
    probing), never from its extension alone. Raises :class:`MediaError` for a missing, empty or unknown file."""
    p = Path(path)
    if not p.is_file():
        raise MediaError(f"no such file: {path}" if not p.exists() else f"not a regular file: {path}")
    with open(p, "rb") as fh:
        head = fh.read(_HEAD)
    if not head:
        raise MediaError(f"empty file (0 bytes): {path}")
    kind = _sniff(head)
    if kind in ("image", "audio", "text"):
        return kind
    if p.suffix.lower() in TABLE_SUFFIXES and _looks_like_text(head):  # a table: no need to load Pillow to say so
        return "text"
    if kind == "probe":
        probed = _probe_streams(p)
        if probed:
            return probed
        raise MediaError(f"unsupported or corrupt audio/video container: {path}")
    if _pillow_recognises(p):
        return "image"
    if _looks_like_text(head):  # before PyAV, whose "tty" reader takes text files for video
        return "text"
    probed = _probe_streams(p)
    if probed:
        return probed
    raise MediaError(f"unrecognised file format (not an image, audio, video or text file): {path}")


def _pillow_recognises(path: Path) -> bool:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return bool(im.format)
    except Exception:  # noqa: BLE001 - Pillow raises UnidentifiedImageError and others
        return False


# -- safe image opening --------------------------------------------------------------------------------------
def open_image(path: str | Path, mode: str = "RGB", max_pixels: int = MAX_IMAGE_PIXELS,
               draft_size: int | None = None) -> Any:
    """Open an image fully decoded in ``mode``, EXIF-rotated, refusing decompression bombs (more than
    ``max_pixels`` pixels, checked from the header before decoding) and corrupt or truncated files with a
    :class:`MediaError`. ``draft_size`` lets a JPEG decode at a reduced scale no smaller than that many pixels on
    its shorter side (DCT scaling: several times faster for large photos)."""
    import warnings

    from PIL import Image, ImageOps

    try:
        im: Any = Image.open(path)
    except FileNotFoundError:
        raise MediaError(f"no such file: {path}") from None
    except Image.UnidentifiedImageError as e:
        raise MediaError(f"not a readable image ({e})") from None
    except Exception as e:  # noqa: BLE001 - a header cut short: OSError "Truncated File Read"
        raise MediaError(f"corrupt or truncated image ({type(e).__name__}: {e})") from None
    try:
        w, h = im.size
        if w * h > max_pixels:
            raise MediaError(f"image has {w}x{h} = {w * h:,} pixels, over the limit of {max_pixels:,} "
                             "(possible decompression bomb)")
        if draft_size and im.format == "JPEG":
            scale = min(w, h) / draft_size
            if scale >= 2:
                im.draft(mode if mode in ("RGB", "L") else "RGB", (int(w / scale) + 1, int(h / scale) + 1))
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im.load()
            im = ImageOps.exif_transpose(im)
            return im.convert(mode) if im.mode != mode else im
    except MediaError:
        im.close()
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        im.close()
        raise MediaError(f"decompression bomb refused: {e}") from None
    except Exception as e:  # noqa: BLE001 - truncated JPEG/PNG: OSError; broken chunks: SyntaxError, ValueError
        im.close()
        raise MediaError(f"corrupt or truncated image ({type(e).__name__}: {e})") from None


# -- the analyzer --------------------------------------------------------------------------------------------
def as_path(item: Any) -> tuple[str | None, str | None]:
    """``(path, None)`` for a path-like item naming an existing regular file, else ``(None, reason)``."""
    if isinstance(item, Path):
        item = str(item)
    if not isinstance(item, str) or not item.strip():
        return None, f"expected a file path, got {type(item).__name__}" if not isinstance(item, str) else "empty path"
    if not os.path.isfile(item):
        return None, f"no such file: {item}" if not os.path.exists(item) else f"not a regular file: {item}"
    return item, None


def path_and_modality(item: Any) -> tuple[tuple[str, str] | None, str | None]:
    """``((path, modality), None)`` for an existing file of a known modality, else ``(None, reason)``."""
    path, err = as_path(item)
    if path is None:
        return None, err
    try:
        return (path, detect_modality(path)), None
    except MediaError as e:
        return None, str(e)


class MediaAnalyzer(Analyzer):
    """An analyzer whose items are file paths; see the module docstring for the contract."""

    modality: str = "image"
    #: modalities (from :func:`detect_modality`) this analyzer reads
    accepts: ClassVar[tuple[str, ...]] = ("image",)
    #: the ``extra`` keys this analyzer's rows carry besides :data:`MEDIA_FIELDS` (so every chunk of a table has the
    #: same columns); e.g. ``("n_faces",)``
    fields: ClassVar[tuple[str, ...]] = ()
    max_batch_chars = None  # items are paths, not texts

    def __init__(self, labelset: str | LabelSet) -> None:
        self.labelset = get_labelset(labelset)

    # -- to implement ----------------------------------------------------------------------------------------
    def analyze_segments(self, path: str) -> BatchPrediction:
        """Every segment of one file, in the native label set, per-segment fields in ``extra``; may raise
        :class:`MediaError`."""
        raise NotImplementedError

    # -- provided --------------------------------------------------------------------------------------------
    def check(self, item: Any) -> tuple[Any, str | None]:
        found, err = path_and_modality(item)
        if found is None:
            return None, err
        path, kind = found
        if kind not in self.accepts:
            return None, f"{self.name} analyzer reads {' or '.join(self.accepts)} files; this file is {kind}"
        return path, None

    def all_fields(self) -> tuple[str, ...]:
        return MEDIA_FIELDS + tuple(f for f in self.fields if f not in MEDIA_FIELDS)

    def summarize(self, path: str, segments: BatchPrediction) -> BatchPrediction:
        """The file's one row from its segments: weighted means (weights ``extra["weight"]`` or equal), the
        ``start`` of the first and ``end`` of the last segment, and ``n_segments``. Raises :class:`MediaError`
        for a file with no segment."""
        n = len(segments)
        if n == 0:
            raise MediaError(f"nothing to analyze in {Path(path).name}")
        weights = np.asarray(segments.extra.get("weight") or [1.0] * n, dtype=np.float64)
        weights = weights / weights.sum() if weights.sum() > 0 else np.full(n, 1.0 / n)
        row = BatchPrediction(segments.labelset, (weights @ segments.dist)[None, :], model=self.name)
        if segments.scores is not None:
            row.scores, row.thresholds = (weights @ segments.scores)[None, :], segments.thresholds
        if segments.vad is not None:
            row.vad, row.vad_scale = _nan_weighted_mean(segments.vad, weights)[None, :], segments.vad_scale
        if segments.intensity is not None:
            row.intensity = _nan_weighted_mean(segments.intensity[:, None], weights)
        row.n_segments = np.array([n], dtype=np.int64)
        starts = [s for s in segments.extra.get("start", []) if s is not None]
        ends = [e for e in segments.extra.get("end", []) if e is not None]
        row.extra = {"start": [min(starts) if starts else None], "end": [max(ends) if ends else None]}
        return row

    def predict_batch(self, items: list[Any], labels: LabelSet | None = None) -> BatchPrediction:
        rows = [self._one_row(str(path)) for path in items]
        return self._finish(rows, labels)

    def analyze_segments_batch(self, items: Sequence[Any], labels: str | LabelSet | None = None,
                               first_parent: int = 0) -> BatchPrediction:
        """The ``--segments`` table: one row per segment of each item (``parent`` = ``first_parent`` + the item's
        index, ``segment`` = index within it); an item with an error or no segment keeps one row saying why."""
        target = get_labelset(labels) if labels is not None else self.labelset
        parts: list[BatchPrediction] = []
        for i, item in enumerate(items):
            path, err = self.check(item)
            segs = None
            if err is None:
                try:
                    found = self.analyze_segments(path)
                    if len(found) == 0:
                        raise MediaError(f"nothing to analyze in {Path(path).name}")
                    segs = found
                except MediaError as e:
                    err = str(e)
                except Exception as e:
                    log.warning("%s failed on %s", self.name, path, exc_info=True)
                    err = f"{type(e).__name__}: {e}"
            if segs is None:
                segs = BatchPrediction.failed(self.labelset, [err or "failed"], self.name)
                segs.extra["segment"] = [None]
            else:
                segs.extra["segment"] = list(range(len(segs)))
            segs.extra["parent"] = [first_parent + i] * len(segs)
            parts.append(self._with_fields(segs))
        out = BatchPrediction.concat(parts).to_labelset(target)
        out.model = self.name
        return out

    # -- helpers ---------------------------------------------------------------------------------------------
    def _one_row(self, path: str) -> BatchPrediction:
        try:
            row = self.summarize(path, self.analyze_segments(path))
        except MediaError as e:
            row = BatchPrediction.failed(self.labelset, [str(e)], self.name)
        return self._with_fields(row)

    def _with_fields(self, batch: BatchPrediction) -> BatchPrediction:
        """Every field of :meth:`all_fields` present (None where unset), ``modality`` filled, no ``weight``."""
        n = len(batch)
        batch.extra.pop("weight", None)
        batch.extra = ordered_fields(batch.extra, self.all_fields(), n)
        batch.extra["modality"] = [self.modality] * n
        return batch

    def _finish(self, rows: list[BatchPrediction], labels: LabelSet | None) -> BatchPrediction:
        if not rows:  # the template of outputs (see runner._add_empty_outputs)
            empty = BatchPrediction(self.labelset, np.zeros((0, len(self.labelset))), vad=np.zeros((0, 3)),
                                    intensity=np.zeros(0), model=self.name)
            return self._with_fields(empty)
        out = BatchPrediction.concat(rows)
        out.model = self.name
        return out

    def info(self) -> dict[str, Any]:
        return {**super().info(), "accepts": list(self.accepts)}


def ordered_fields(extra: dict[str, list[Any]], names: Sequence[str], n: int) -> dict[str, list[Any]]:
    """``extra`` with every key of ``names`` first, in that order (None-filled where absent), then the rest sorted:
    the same columns in the same order whatever mix of files a chunk holds."""
    out = {key: extra.get(key, [None] * n) for key in names}
    out.update({key: extra[key] for key in sorted(extra) if key not in out})
    return out


def _nan_weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Column-wise weighted mean ignoring NaN entries (NaN where a column has no value)."""
    ok = ~np.isnan(values)
    w = weights[:, None] * ok
    total = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (np.nan_to_num(values) * w).sum(axis=0) / np.where(total > 0, total, 1), np.nan)
