"""Speech emotion: what is said (the transcript, scored by the text model) and how it is said (a prosody head),
fused, with both parts also reported on their own.

A recording is read in fixed windows (:func:`affectkit.media.audio.iter_windows`, bounded memory at any length).
For each window that is not silent:

1. prosody features (:mod:`affectkit.media.prosody`) and, when the head was trained with them, the mean Whisper
   encoder state of the window (:mod:`affectkit.media.asr`) go through a linear head: ``p_prosody``;
2. Whisper tiny.en transcribes the window (same encoder pass) and the text model scores the transcript, mapped onto
   the head's label set: ``p_text``, with the text's intensity ``i_text`` (1 - its neutral mass);
3. linear opinion pooling (Genest and Zidek 1986, Combining probability distributions, Statistical Science 1(1))
   with a weight that grows with how emotional the words are: ``p = (1 - w) p_prosody + w p_text``,
   ``w = text_weight * i_text``; a lexically neutral transcript barely moves the prosody's answer.

Valence and arousal are the expected point of the fused distribution under Russell and Mehrabian's (1977) category
anchors (:func:`affectkit.vad.distribution_to_vad`); dominance is not estimated. The file's row is the mean over its
non-silent windows weighted by their length. The prosody head is trained on RAVDESS, whose licence is
non-commercial, so none ships with the package: ``python scripts/train_prosody.py`` trains one (docs/media.md).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from affectkit.analyzers.base import Analyzer
from affectkit.labels import LabelSet, get_labelset
from affectkit.media.base import MediaAnalyzer, MediaError
from affectkit.modules.heads import CategoryHead
from affectkit.schema import BatchPrediction

log = logging.getLogger(__name__)

HEAD_CONFIG = "affectkit_speech_head.json"
#: where ``scripts/train_prosody.py`` writes the RAVDESS head and where the analyzer looks for it by default
DEFAULT_HEAD_DIR = Path(os.environ.get("AFFECTKIT_HOME", Path.home() / ".cache" / "affectkit")) / "speech-ravdess-nc"
HEAD_ENV = "AFFECTKIT_SPEECH_HEAD"
DEFAULT_WINDOW_S = 20.0
MAX_TRANSCRIPT_CHARS = 20_000  # a file's row keeps at most this much transcript (the segments keep all of it)
#: per-window values kept for the file's row, not written as columns
_INTERNAL = ("_p_prosody", "_p_text", "_text_intensity")


@dataclass
class ProsodyHead:
    """A linear head over prosody features (and optionally the Whisper embedding), with its fusion weight."""

    head: CategoryHead
    prosody_names: list[str]
    whisper: bool  # the vector ends with the 384 Whisper encoder dimensions
    text_weight: float = 0.5
    meta: dict[str, Any] = field(default_factory=dict)  # licence, data, protocol, metrics

    @property
    def labelset(self) -> LabelSet:
        return self.head.labelset

    def vector(self, prosody: dict[str, float], embedding: np.ndarray | None) -> np.ndarray:
        x = np.array([prosody[k] for k in self.prosody_names], dtype=np.float32)
        if self.whisper:
            if embedding is None:
                raise ValueError("this prosody head needs the Whisper embedding (ASR is off or unavailable)")
            x = np.r_[x, np.asarray(embedding, dtype=np.float32)]
        return x

    def predict(self, x: np.ndarray) -> np.ndarray:
        dist, _ = self.head(np.atleast_2d(x).astype(np.float32))
        return dist

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        self.head.save(folder / "head")
        cfg = {"type": "speech-prosody", "labelset": self.labelset.name, "prosody_features": self.prosody_names,
               "whisper_embedding": self.whisper, "text_weight": self.text_weight, **self.meta}
        (folder / HEAD_CONFIG).write_text(json.dumps(cfg, indent=2))

    @classmethod
    def load(cls, folder: str | Path) -> ProsodyHead:
        folder = Path(folder)
        cfg_file = folder / HEAD_CONFIG
        if not cfg_file.exists():
            raise MediaError(f"{folder} is not a speech head folder (no {HEAD_CONFIG})")
        cfg = json.loads(cfg_file.read_text())
        meta = {k: v for k, v in cfg.items()
                if k not in ("type", "labelset", "prosody_features", "whisper_embedding", "text_weight")}
        return cls(CategoryHead.load(folder / "head"), list(cfg["prosody_features"]), bool(cfg["whisper_embedding"]),
                   float(cfg.get("text_weight", 0.5)), meta)


def find_head(head: str | Path | None) -> Path | None:
    """The head folder to use: ``head``, else ``$AFFECTKIT_SPEECH_HEAD``, else :data:`DEFAULT_HEAD_DIR` if it
    exists, else ``None``."""
    if head is not None:
        return Path(head)
    if os.environ.get(HEAD_ENV):
        return Path(os.environ[HEAD_ENV])
    return DEFAULT_HEAD_DIR if (DEFAULT_HEAD_DIR / HEAD_CONFIG).exists() else None


def fuse(p_prosody: np.ndarray | None, p_text: np.ndarray | None, text_intensity: np.ndarray | None,
         text_weight: float) -> np.ndarray:
    """Linear opinion pool ``(1 - w) p_prosody + w p_text`` with ``w = text_weight * text_intensity`` per row
    (clipped to [0, 1]); either part alone when the other is missing."""
    if p_prosody is None and p_text is None:
        raise ValueError("nothing to fuse")
    if p_text is None:
        return np.asarray(p_prosody)
    if p_prosody is None:
        return np.asarray(p_text)
    intensity = np.ones(len(p_text)) if text_intensity is None else np.nan_to_num(text_intensity)
    w = np.clip(text_weight * intensity, 0.0, 1.0)[:, None]
    return (1.0 - w) * p_prosody + w * p_text


def as_bool(value: bool | str) -> bool:
    """``True`` / ``False`` from a bool or a string such as ``"false"``, ``"0"``, ``"no"``, ``"off"``."""
    if isinstance(value, str):
        if value.strip().lower() not in ("true", "1", "yes", "on", "false", "0", "no", "off"):
            raise ValueError(f"expected a boolean, got {value!r}")
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)


def overall_level(levels_dbfs: list[float | None], seconds: np.ndarray) -> float | None:
    """The RMS level of a whole recording from its windows' levels, ``10 log10(sum t_i 10^(L_i / 10) / sum t_i)``
    (a window with no level, i.e. digital silence, adds time but no energy); ``None`` when all are silent."""
    t = np.asarray(seconds, dtype=np.float64)
    energy = np.array([0.0 if lv is None else 10.0 ** (lv / 10.0) for lv in levels_dbfs])
    total = float((t * energy).sum() / t.sum()) if t.sum() > 0 else 0.0
    return round(10.0 * np.log10(total), 2) if total > 0 else None


def _top(dist: np.ndarray | None, labelset: LabelSet) -> tuple[list[str | None], list[float | None]]:
    if dist is None:
        return [], []
    ok = ~np.isnan(dist).any(axis=1)
    idx = np.nan_to_num(dist, nan=-1).argmax(axis=1)
    return ([labelset.labels[j] if o else None for j, o in zip(idx, ok)],
            [round(float(dist[i, j]), 6) if o else None for i, (j, o) in enumerate(zip(idx, ok))])


class SpeechAnalyzer(MediaAnalyzer):
    """Speech emotion for audio files (and the audio track of video files); see the module docstring.

    Options: ``head`` (a folder from ``scripts/train_prosody.py``; default :func:`find_head`), ``text_model``
    (any text model spec, default ``default``), ``asr`` (False: no transcript, prosody only), ``text_weight``
    (overrides the head's), ``window_s`` (seconds per window, at most 20: Whisper's 30 s less its padding),
    ``cpu_threads`` (for Whisper).
    """

    name = "speech"
    modality = "audio"
    accepts: ClassVar[tuple[str, ...]] = ("audio", "video")
    fields: ClassVar[tuple[str, ...]] = ("prosody_emotion", "prosody_score", "text_emotion", "text_score",
                                         "text_weight", "level_dbfs")

    def __init__(self, head: str | Path | None = None, text_model: str | Analyzer | None = "default",
                 asr: bool | str = True, text_weight: float | str | None = None,
                 window_s: float | str = DEFAULT_WINDOW_S, cpu_threads: int | str = 2,
                 threads: int | str | None = None) -> None:
        from affectkit.media.asr import MAX_WINDOW_SECONDS, WhisperTiny, unavailable_reason

        # options may come as strings from a model spec or the command line; ``threads`` is the router's name
        asr = as_bool(asr)
        window_s, cpu_threads = float(window_s), int(threads if threads is not None else cpu_threads)
        text_weight = None if text_weight is None else float(text_weight)
        folder = find_head(head)
        self.head = ProsodyHead.load(folder) if folder is not None else None
        self.asr_reason = None if asr else "ASR turned off (asr=False)"
        if asr and self.asr_reason is None:
            self.asr_reason = unavailable_reason()
        if self.head is not None and self.head.whisper and self.asr_reason:
            raise MediaError(f"the prosody head in {folder} uses the Whisper embedding, but {self.asr_reason}")
        self.asr = WhisperTiny(cpu_threads=cpu_threads) if self.asr_reason is None else None
        self.text_model_spec = text_model if self.asr is not None else None
        if self.head is None and self.text_model_spec is None:
            raise MediaError("speech analysis needs a prosody head (train one: python scripts/train_prosody.py; "
                             f"or pass head=FOLDER / set ${HEAD_ENV}) or a transcript ({self.asr_reason})")
        if self.head is None:
            log.warning("no prosody head found (python scripts/train_prosody.py trains one): speech is scored "
                        "from its transcript only")
        if not 1.0 <= window_s <= MAX_WINDOW_SECONDS:
            raise ValueError(f"window_s must be within 1..{MAX_WINDOW_SECONDS:g} seconds, got {window_s}")
        self.window_s = float(window_s)
        self.text_weight = float(text_weight if text_weight is not None else
                                 self.head.text_weight if self.head is not None else 1.0)
        super().__init__(self.head.labelset if self.head is not None else get_labelset("ravdess"))
        self._text: Analyzer | None = None

    @property
    def text_model(self) -> Analyzer | None:
        if self._text is None and self.text_model_spec is not None:
            import affectkit

            self._text = affectkit.load(self.text_model_spec)
        return self._text

    def info(self) -> dict[str, Any]:
        head = None if self.head is None else {"labelset": self.labelset.name, "whisper": self.head.whisper,
                                               **{k: v for k, v in self.head.meta.items() if k in
                                                  ("licence", "non_commercial", "data", "protocol")}}
        return {**super().info(), "prosody_head": head, "asr": self.asr_reason or "whisper tiny.en",
                "text_model": str(self.text_model_spec), "text_weight": self.text_weight, "window_s": self.window_s}

    # -- one file --------------------------------------------------------------------------------------------------
    def analyze_segments(self, path: str) -> BatchPrediction:
        """One row per window of ``path``; silent windows keep a row with an error."""
        from affectkit.media.audio import AudioError, iter_windows
        from affectkit.media.prosody import prosody_features

        starts: list[float] = []
        ends: list[float] = []
        levels: list[float | None] = []
        texts: list[str | None] = []
        errors: list[str | None] = []
        vectors: list[np.ndarray | None] = []
        try:
            for window in iter_windows(path, self.window_s):
                starts.append(round(window.start, 3))
                ends.append(round(window.end, 3))
                levels.append(round(window.level_dbfs, 2) if np.isfinite(window.level_dbfs) else None)
                if window.silent:
                    texts.append(None)
                    vectors.append(None)
                    errors.append("silent window")
                    continue
                heard = self.asr.listen(window.samples, transcribe=self.text_model_spec is not None) \
                    if self.asr is not None else None
                texts.append(heard.text if heard is not None else None)
                try:
                    feats = prosody_features(window.samples) if self.head is not None else None
                    vectors.append(self.head.vector(feats, heard.embedding if heard else None)
                                   if self.head is not None and feats is not None else None)
                    errors.append(None)
                except ValueError as e:  # too short for prosody statistics
                    vectors.append(None)
                    errors.append(str(e))
        except AudioError as e:
            raise MediaError(str(e)) from None
        if not starts:
            raise MediaError("empty audio: no samples")
        return self._score_windows(starts, ends, levels, texts, vectors, errors)

    def _score_windows(self, starts: list, ends: list, levels: list, texts: list, vectors: list,
                       errors: list[str | None]) -> BatchPrediction:
        n, k = len(starts), len(self.labelset)
        p_prosody = np.full((n, k), np.nan) if self.head is not None else None
        rows = [i for i, v in enumerate(vectors) if v is not None]
        if self.head is not None and p_prosody is not None and rows:
            p_prosody[rows] = self.head.predict(np.stack([vectors[i] for i in rows]))
        p_text = intensity = None
        spoken = [i for i, t in enumerate(texts) if t and errors[i] is None]
        if self.text_model is not None:
            p_text, intensity = np.full((n, k), np.nan), np.zeros(n)
            if spoken:
                scored = self.text_model.analyze_batch([texts[i] for i in spoken], labels=self.labelset)
                p_text[spoken] = scored.dist
                if scored.intensity is not None:
                    intensity[spoken] = np.nan_to_num(scored.intensity)
            no_words = [i for i in range(n) if i not in set(spoken)]
            if self.head is None:
                for i in no_words:
                    errors[i] = errors[i] or "no speech recognised"
        dist = np.full((n, k), np.nan)
        for i in range(n):
            if errors[i] is not None:
                continue
            pp = None if p_prosody is None else p_prosody[i: i + 1]
            pt = None if p_text is None or np.isnan(p_text[i]).any() else p_text[i: i + 1]
            dist[i] = fuse(pp, pt, None if intensity is None else intensity[i: i + 1], self.text_weight)[0]
        return self._window_rows(dist, p_prosody, p_text, intensity, starts, ends, levels, texts, errors)

    def _window_rows(self, dist: np.ndarray, p_prosody: np.ndarray | None, p_text: np.ndarray | None,
                     intensity: np.ndarray | None, starts: list, ends: list, levels: list, texts: list,
                     errors: list[str | None]) -> BatchPrediction:
        from affectkit.vad import distribution_to_vad

        n = len(dist)
        ok = ~np.isnan(dist).any(axis=1)
        vad = np.full((n, 3), np.nan)
        if ok.any():
            vad[ok, :2] = distribution_to_vad(dist[ok], self.labelset)[0]
        neutral = self.labelset.index(self.labelset.neutral) if self.labelset.neutral else None
        strength = 1.0 - dist[:, neutral] if neutral is not None else np.full(n, np.nan)
        out = BatchPrediction(self.labelset, dist, vad=vad, intensity=strength, errors=list(errors), model=self.name)
        pros_top, pros_score = _top(p_prosody, self.labelset)
        text_top, text_score = _top(p_text, self.labelset)
        weights = [round(self.text_weight * float(i), 6) for i in intensity] if intensity is not None else []
        out.extra = {"start": starts, "end": ends, "transcript": texts, "level_dbfs": levels,
                     "prosody_emotion": pros_top or [None] * n, "prosody_score": pros_score or [None] * n,
                     "text_emotion": text_top or [None] * n, "text_score": text_score or [None] * n,
                     "text_weight": weights or [None] * n,
                     "weight": [float(e - s) if err is None else 0.0 for s, e, err in zip(starts, ends, errors)],
                     "_p_prosody": list(p_prosody) if p_prosody is not None else [None] * n,
                     "_p_text": list(p_text) if p_text is not None else [None] * n,
                     "_text_intensity": list(intensity) if intensity is not None else [None] * n}
        return out

    # -- the file's row --------------------------------------------------------------------------------------------
    def summarize(self, path: str, segments: BatchPrediction) -> BatchPrediction:
        """Length-weighted mean over the non-silent windows; the transcript joined; each part's own answer."""
        ok = [i for i, err in enumerate(segments.errors) if err is None]
        if not ok:
            reasons = sorted({e for e in segments.errors if e})
            if reasons == ["silent window"]:
                raise MediaError("silent audio: no window above the silence level")
            raise MediaError("; ".join(reasons) or "nothing to analyze")
        kept = segments.take(ok)
        row = super().summarize(path, kept)
        row.extra["start"], row.extra["end"] = [segments.extra["start"][0]], [segments.extra["end"][-1]]
        weights = np.asarray(kept.extra["weight"], dtype=np.float64)
        weights = weights / weights.sum()
        for part, column in (("_p_prosody", "prosody"), ("_p_text", "text")):
            have = [i for i, v in enumerate(kept.extra[part]) if v is not None and not np.isnan(v).any()]
            if have and weights[have].sum() > 0:
                mean = weights[have] @ np.stack([kept.extra[part][i] for i in have]) / weights[have].sum()
                top, score = _top(mean[None, :], self.labelset)
                row.extra[f"{column}_emotion"], row.extra[f"{column}_score"] = top, score
        transcript = " ".join(t for t in kept.extra["transcript"] if t)
        if len(transcript) > MAX_TRANSCRIPT_CHARS:
            transcript = transcript[:MAX_TRANSCRIPT_CHARS] + " [...]"
        row.extra["transcript"] = [transcript if self.text_model_spec is not None else None]
        intensity = kept.extra["_text_intensity"]
        if intensity[0] is not None:
            row.extra["text_weight"] = [round(self.text_weight * float(weights @ np.asarray(intensity)), 6)]
        row.extra["level_dbfs"] = [overall_level(segments.extra["level_dbfs"],
                                                 np.subtract(segments.extra["end"], segments.extra["start"]))]
        return row

    def _with_fields(self, batch: BatchPrediction) -> BatchPrediction:
        for key in _INTERNAL:
            batch.extra.pop(key, None)
        return super()._with_fields(batch)

    def close(self) -> None:
        self.asr = None
        super().close()


__all__ = ["DEFAULT_HEAD_DIR", "HEAD_CONFIG", "ProsodyHead", "SpeechAnalyzer", "as_bool", "find_head", "fuse",
           "overall_level"]
