"""Audio decoding for the speech and video analyzers: any file that libsndfile or FFmpeg reads, as 16 kHz mono
float32, streamed in fixed-size windows so that a recording of any length is analysed in bounded memory.

A file is read block by block (libsndfile through ``soundfile`` for WAV / FLAC / OGG / MP3, FFmpeg through PyAV
for everything else, video containers included) and resampled on the fly (``soxr``'s streaming resampler, or
FFmpeg's). What goes wrong with a file is an :class:`AudioError` whose message becomes that row's ``error``:
nothing decodable, no samples, a stream shorter than its header says (truncated), a codec neither library knows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SAMPLE_RATE = 16_000
#: samples per block read from a file (a few seconds at any common rate)
BLOCK_FRAMES = 65_536
#: a window (or a whole file) whose RMS level is below this is silent (dB re full scale). RAVDESS, a quiet
#: studio corpus, has a median clip level of about -42 dBFS, so the floor sits well below it.
SILENCE_DBFS = -60.0
#: a decoded stream shorter than its header's duration by more than this share (and 0.5 s) is reported truncated
TRUNCATION_TOLERANCE = 0.02


class AudioError(ValueError):
    """Why one audio input cannot be analysed; the message is the row's ``error``."""


@dataclass
class Window:
    """``samples`` (16 kHz mono float32) of a recording from ``start`` seconds on; ``index`` counts windows."""

    index: int
    start: float
    samples: np.ndarray

    @property
    def end(self) -> float:
        return self.start + len(self.samples) / SAMPLE_RATE

    @property
    def level_dbfs(self) -> float:
        return rms_dbfs(self.samples)

    @property
    def silent(self) -> bool:
        return self.level_dbfs < SILENCE_DBFS


def rms_dbfs(x: np.ndarray) -> float:
    """RMS level in dB re full scale, ``20 log10(sqrt(mean(x^2)))``; ``-inf`` for silence or no samples."""
    if x.size == 0:
        return -math.inf
    ms = float(np.mean(np.square(x, dtype=np.float64)))
    return 10.0 * math.log10(ms) if ms > 0 else -math.inf


# -- sources ---------------------------------------------------------------------------------------------------------
def _soundfile_blocks(path: Path) -> Iterator[np.ndarray] | None:
    """Mono 16 kHz blocks through libsndfile, or ``None`` when libsndfile cannot open the file."""
    try:
        import soundfile as sf
    except ImportError:  # pragma: no cover - soundfile is in the audio extra
        return None
    try:
        handle = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError):
        return None
    return _read_soundfile(handle)


def _read_soundfile(handle: Any) -> Iterator[np.ndarray]:
    with handle:
        rate, declared = int(handle.samplerate), int(handle.frames)
        resampler = _Resampler(rate)
        got = 0
        try:
            for block in handle.blocks(blocksize=BLOCK_FRAMES, dtype="float32", always_2d=True):
                got += len(block)
                yield resampler(block.mean(axis=1, dtype=np.float32))
        except Exception as e:  # noqa: BLE001 - libsndfile fails mid-stream on a corrupt block
            raise AudioError(f"cannot decode audio after {got / rate:.2f} s: {e}") from None
        yield resampler.flush()
    _check_length(got / rate, declared / rate if declared > 0 else None)


def _pyav_blocks(path: Path) -> Iterator[np.ndarray]:
    """Mono 16 kHz blocks of the first audio stream through FFmpeg (PyAV)."""
    try:
        import av
    except ImportError:
        raise AudioError("unsupported audio format (libsndfile cannot read it; install the audio extra for "
                         "FFmpeg through PyAV: pip install 'affectkit[audio]')") from None
    try:
        container = av.open(str(path))
    except Exception as e:  # noqa: BLE001 - av.error.FFmpegError subclasses, OSError
        raise AudioError(f"unsupported or corrupt audio: {type(e).__name__}: {e}") from None
    return _read_pyav(container)


def _read_pyav(container: Any) -> Iterator[np.ndarray]:
    import av

    with container:
        if not container.streams.audio:
            raise AudioError("no audio stream in the file")
        stream = container.streams.audio[0]
        declared = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
        if declared is None and container.duration:
            declared = container.duration / 1_000_000  # microseconds (av.time_base)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        got = 0
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    block = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                    got += block.size
                    yield block
            for out in resampler.resample(None):
                block = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                got += block.size
                yield block
        except Exception as e:  # noqa: BLE001 - FFmpeg errors of every kind, an unknown codec among them
            codec = getattr(getattr(stream, "codec_context", None), "name", None) or "unknown"
            raise AudioError(f"cannot decode audio after {got / SAMPLE_RATE:.2f} s (codec {codec}): "
                             f"{type(e).__name__}: {e}") from None
    _check_length(got / SAMPLE_RATE, declared)


def _check_length(decoded_s: float, declared_s: float | None) -> None:
    if decoded_s <= 0:
        raise AudioError("empty audio: the file has no samples")
    if declared_s and declared_s - decoded_s > max(0.5, TRUNCATION_TOLERANCE * declared_s):
        raise AudioError(f"truncated audio: the header says {declared_s:.2f} s but only {decoded_s:.2f} s decode")


class _Resampler:
    """Streaming resampling to 16 kHz (soxr keeps the filter state across blocks; identity at 16 kHz)."""

    def __init__(self, rate: int) -> None:
        self.stream = None
        if rate != SAMPLE_RATE:
            import soxr

            self.stream = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32")

    def __call__(self, block: np.ndarray) -> np.ndarray:
        return block if self.stream is None else self.stream.resample_chunk(block)

    def flush(self) -> np.ndarray:
        if self.stream is None:
            return np.zeros(0, np.float32)
        return self.stream.resample_chunk(np.zeros(0, np.float32), last=True)


def container_truncation(path: Path) -> str | None:
    """Why a WAV or Ogg file's own framing says it was cut short, or ``None``: a RIFF ``data`` chunk that declares
    more bytes than the file holds, or an Ogg stream whose last page lacks the end-of-stream flag (RFC 3533).
    Both decoders read such files without complaint, so the check is on the container."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(4096)
        if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
            pos = 12
            while pos + 8 <= len(head):
                chunk, length = head[pos:pos + 4], int.from_bytes(head[pos + 4:pos + 8], "little")
                if chunk == b"data":
                    have = size - (pos + 8)
                    return (f"truncated audio: the WAV data chunk declares {length:,} bytes but the file holds "
                            f"{have:,}") if length != 0xFFFFFFFF and have < length else None
                pos += 8 + length + (length & 1)
            return None
        if head[:4] == b"OggS":
            f.seek(max(0, size - 65_536))
            tail = f.read()
            last = tail.rfind(b"OggS")
            if last < 0 or last + 5 >= len(tail) or not tail[last + 5] & 0x04:
                return "truncated audio: the Ogg stream has no end-of-stream page"
    return None


def iter_blocks(path: str | Path) -> Iterator[np.ndarray]:
    """The audio of ``path`` as 16 kHz mono float32 blocks of any size; raises :class:`AudioError` (possibly only
    after some blocks, for a stream that breaks off or is shorter than its header says)."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"no such file: {path}")
    if path.stat().st_size == 0:
        raise AudioError("empty audio: the file has 0 bytes")
    cut = container_truncation(path)
    if cut:
        raise AudioError(cut)
    blocks = _soundfile_blocks(path)
    return blocks if blocks is not None else _pyav_blocks(path)


# -- windows ---------------------------------------------------------------------------------------------------------
def fixed_windows(blocks: Iterable[np.ndarray], window_s: float = 10.0, min_tail_s: float = 1.0) -> Iterator[Window]:
    """Cut a stream of blocks into consecutive windows of ``window_s`` seconds, holding at most two windows (and
    one block) at a time. A last piece shorter than ``min_tail_s`` joins the window before it; a stream shorter
    than one window is one window."""
    size = max(1, round(window_s * SAMPLE_RATE))
    min_tail = round(min_tail_s * SAMPLE_RATE)
    parts: list[np.ndarray] = []
    have = 0
    pending: np.ndarray | None = None
    index = 0
    for block in blocks:
        while block.size:
            take = min(size - have, block.size)
            parts.append(block[:take])
            have += take
            block = block[take:]
            if have == size:
                if pending is not None:
                    yield Window(index, index * window_s, pending)
                    index += 1
                pending = np.concatenate(parts)
                parts, have = [], 0
    tail = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    if pending is not None and 0 < tail.size < min_tail:
        pending, tail = np.concatenate([pending, tail]), tail[:0]
    if pending is not None:
        yield Window(index, index * window_s, pending)
        index += 1
    if tail.size:
        yield Window(index, index * window_s, tail)


def iter_windows(path: str | Path, window_s: float = 10.0, min_tail_s: float = 1.0) -> Iterator[Window]:
    """The windows of an audio file (see :func:`fixed_windows`)."""
    return fixed_windows(iter_blocks(path), window_s, min_tail_s)


def load_audio(path: str | Path, max_seconds: float | None = None) -> np.ndarray:
    """A whole (short) file as one 16 kHz mono array; with ``max_seconds``, an :class:`AudioError` for a longer
    one instead of reading it all (stream long recordings with :func:`iter_windows`)."""
    parts: list[np.ndarray] = []
    total = 0
    for block in iter_blocks(path):
        total += block.size
        if max_seconds is not None and total > max_seconds * SAMPLE_RATE:
            raise AudioError(f"audio longer than {max_seconds:g} s: stream it in windows")
        parts.append(block)
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


__all__ = [
    "SAMPLE_RATE",
    "SILENCE_DBFS",
    "AudioError",
    "Window",
    "fixed_windows",
    "iter_blocks",
    "iter_windows",
    "load_audio",
    "rms_dbfs",
]
