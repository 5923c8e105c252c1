"""Prosodic and spectral features of an utterance, from ``librosa`` (ISC licence): pitch, energy, voice quality,
spectrum and timing, summarised over the utterance as one fixed-length vector for a linear head.

The choice follows the acoustic parameter sets of speech emotion research: the Geneva Minimalistic Acoustic
Parameter Set (eGeMAPS; Eyben et al. 2016, IEEE Trans. Affective Computing 7(2)) keeps F0 in semitones with its
mean, spread, percentiles and slope, loudness, harmonics-to-noise ratio, spectral shape and the rate and length
of voiced segments; MFCC statistics are the classic spectral-envelope features (Schuller et al. 2009, The
INTERSPEECH 2009 Emotion Challenge). eGeMAPS itself (``opensmile``) is research / non-commercial only, so this
module recomputes comparable descriptors without it; :func:`egemaps_features` is an opt-in alternative.

Frames are 64 ms long with a 10 ms hop at 16 kHz. F0 comes from YIN (de Cheveigne and Kawahara 2002, in numpy:
librosa's numba version compiles for seconds in every new process); a frame
is voiced when its normalised autocorrelation at the YIN period is at least :data:`VOICING_R` and it is active
(within :data:`ACTIVE_RANGE_DB` of the loudest frame); the harmonics-to-noise ratio of a voiced frame is
``10 log10(r / (1 - r))`` (Boersma 1993).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

SAMPLE_RATE = 16_000
FRAME = 1024  # 64 ms: two periods of a 31 Hz F0, enough for YIN down to FMIN
HOP = 160  # 10 ms
N_FFT = 512  # 32 ms spectra
FMIN, FMAX = 60.0, 500.0  # F0 search range (Hz), speech of adults and children
VOICING_R = 0.5  # normalised autocorrelation at the period above which a frame is voiced
ACTIVE_RANGE_DB = 40.0  # frames more than this below the loudest frame are pauses
N_MFCC = 13
MIN_SECONDS = 0.25  # shorter input has too few frames for the statistics

SEMITONE_REF_HZ = 27.5  # eGeMAPS: F0 in semitones re 27.5 Hz


def semitones(f0_hz: np.ndarray) -> np.ndarray:
    """F0 in semitones re 27.5 Hz, ``12 log2(f0 / 27.5)`` (eGeMAPS, Eyben et al. 2016)."""
    return 12.0 * np.log2(np.asarray(f0_hz, dtype=np.float64) / SEMITONE_REF_HZ)


def hnr_db(r: np.ndarray) -> np.ndarray:
    """Harmonics-to-noise ratio from the normalised autocorrelation at the period, ``10 log10(r / (1 - r))``
    (Boersma 1993), with ``r`` clipped to [1e-3, 0.999]."""
    r = np.clip(np.asarray(r, dtype=np.float64), 1e-3, 0.999)
    return 10.0 * np.log10(r / (1.0 - r))


YIN_THRESHOLD = 0.1  # de Cheveigne and Kawahara's absolute threshold on the normalised difference
YIN_CHUNK = 500  # frames per YIN call (5 s): bounds its FFT buffers on long windows


def yin(frames: np.ndarray, sr: int = SAMPLE_RATE, fmin: float = FMIN, fmax: float = FMAX,
        threshold: float = YIN_THRESHOLD) -> np.ndarray:
    """F0 (Hz) of each frame (columns of ``frames``) by YIN (de Cheveigne and Kawahara 2002): the difference
    function ``d(t) = sum_j (x_j - x_{j+t})^2`` over a window of ``len - sr / fmin`` samples, its cumulative mean
    normalised form ``d'(t) = d(t) t / sum_{k<=t} d(k)``, the first local minimum below ``threshold`` (else the
    global minimum) between the periods of ``fmax`` and ``fmin``, refined by parabolic interpolation."""
    length, n = frames.shape
    t_min, t_max = max(1, int(sr / fmax)), min(int(np.ceil(sr / fmin)), length // 2)
    window = length - t_max
    x = frames.astype(np.float64)
    nfft = 1 << int(np.ceil(np.log2(length + window)))
    corr = np.fft.irfft(np.conj(np.fft.rfft(x[:window], nfft, axis=0)) * np.fft.rfft(x, nfft, axis=0), nfft,
                        axis=0)[: t_max + 1]
    cs = np.concatenate([np.zeros((1, n)), np.cumsum(x * x, axis=0)])
    lags = np.arange(t_max + 1)
    diff = np.maximum(cs[window] - cs[0] + cs[lags + window] - cs[lags] - 2.0 * corr, 0.0)
    cmnd = np.ones_like(diff)
    running = np.cumsum(diff[1:], axis=0)
    cmnd[1:] = diff[1:] * lags[1:, None] / np.where(running > 0, running, 1.0)
    band = cmnd[t_min:]
    local_min = np.zeros_like(band, dtype=bool)
    local_min[1:-1] = (band[1:-1] <= band[:-2]) & (band[1:-1] <= band[2:])
    candidates = local_min & (band < threshold)
    best = np.where(candidates.any(axis=0), candidates.argmax(axis=0), band.argmin(axis=0)) + t_min
    cols = np.arange(n)
    left, mid, right = cmnd[best - 1, cols], cmnd[best, cols], cmnd[np.minimum(best + 1, t_max), cols]
    curvature = left - 2.0 * mid + right
    shift = np.where(np.abs(curvature) > 1e-12, 0.5 * (left - right) / np.where(curvature != 0, curvature, 1.0), 0.0)
    return sr / (best + np.clip(shift, -1.0, 1.0))


def period_correlation(frames: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation of each frame (columns of ``frames``) at its own lag ``periods`` (samples):
    ``sum x[n] x[n+T] / sqrt(sum x[n]^2 sum x[n+T]^2)`` over the first ``FRAME - max(T)`` samples."""
    n_frames = frames.shape[1]
    if n_frames == 0:
        return np.zeros(0)
    lags = np.clip(np.round(periods).astype(np.int64), 1, frames.shape[0] // 2)
    length = frames.shape[0] - int(lags.max())
    cols = np.arange(n_frames)
    a = frames[:length, :]
    b = frames[np.arange(length)[:, None] + lags[None, :], cols[None, :]]
    num = (a * b).sum(axis=0)
    den = np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lengths (in frames) of the runs of True and of False in a boolean sequence, in order of appearance."""
    m = np.asarray(mask, dtype=bool)
    if m.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    edges = np.flatnonzero(np.diff(m.astype(np.int8))) + 1
    bounds = np.r_[0, edges, m.size]
    lengths = np.diff(bounds)
    values = m[bounds[:-1]]
    return lengths[values], lengths[~values]


def slope(values: np.ndarray, times: np.ndarray) -> float:
    """Least-squares slope of ``values`` over ``times`` (0 for fewer than two points or no spread in time)."""
    if values.size < 2 or np.ptp(times) == 0:
        return 0.0
    t = times - times.mean()
    return float((t * (values - values.mean())).sum() / (t * t).sum())


def _stats(name: str, x: np.ndarray, out: dict[str, float], full: bool = True) -> None:
    """mean and standard deviation (and with ``full`` the 10th, 50th, 90th percentiles and the 10-90 range)."""
    x = x[np.isfinite(x)]
    if x.size == 0:
        x = np.zeros(1)
    out[f"{name}_mean"] = float(x.mean())
    out[f"{name}_std"] = float(x.std())
    if full:
        p10, p50, p90 = np.percentile(x, [10, 50, 90])
        out.update({f"{name}_p10": float(p10), f"{name}_p50": float(p50), f"{name}_p90": float(p90),
                    f"{name}_range": float(p90 - p10)})


def prosody_features(x: np.ndarray, sr: int = SAMPLE_RATE) -> dict[str, float]:
    """The named features of one utterance (16 kHz mono float); raises ``ValueError`` for under
    :data:`MIN_SECONDS` of audio. Names and order are fixed (:func:`feature_names`)."""
    import librosa

    if sr != SAMPLE_RATE:
        raise ValueError(f"prosody features need {SAMPLE_RATE} Hz audio, not {sr}")
    x = np.asarray(x, dtype=np.float32)
    if x.size < MIN_SECONDS * SAMPLE_RATE:
        raise ValueError(f"too short for prosody features: {x.size / SAMPLE_RATE:.2f} s < {MIN_SECONDS} s")
    x = np.pad(x, FRAME // 2)  # centre the first and last frames, as librosa's center=True does
    frames = librosa.util.frame(x, frame_length=FRAME, hop_length=HOP)
    level = 10.0 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=0) + 1e-12)
    active = level > level.max() - ACTIVE_RANGE_DB
    f0 = np.concatenate([yin(frames[:, i: i + YIN_CHUNK]) for i in range(0, frames.shape[1], YIN_CHUNK)])
    n = frames.shape[1]
    r = period_correlation(frames, SAMPLE_RATE / f0)
    voiced = active & (r >= VOICING_R)
    times = np.arange(n) * HOP / SAMPLE_RATE

    out: dict[str, float] = {}
    pitch = semitones(f0[voiced])
    _stats("f0_st", pitch, out)
    out["f0_slope_st_per_s"] = slope(pitch, times[voiced])
    out["f0_abs_delta_st"] = float(np.abs(np.diff(pitch)).mean()) if pitch.size > 1 else 0.0
    _stats("level_db", level[active], out)
    out["level_voiced_db_mean"] = float(level[voiced].mean()) if voiced.any() else float(level[active].mean())
    out["level_abs_delta_db"] = float(np.abs(np.diff(level[active])).mean()) if active.sum() > 1 else 0.0
    _stats("hnr_db", hnr_db(r[voiced]), out, full=False)
    _spectral(x, active, voiced, out)
    _timing(active, voiced, out)
    return out


def _spectral(x: np.ndarray, active: np.ndarray, voiced: np.ndarray, out: dict[str, float]) -> None:
    """Spectral shape over active frames: centroid, bandwidth, roll-off, flatness, zero-crossing rate, spectral
    contrast, MFCCs 1-13 and their deltas."""
    import librosa

    spec = np.abs(librosa.stft(x, n_fft=N_FFT, hop_length=HOP, win_length=N_FFT, center=False))
    offset = (FRAME - N_FFT) // 2  # align the 32 ms spectra with the centres of the 64 ms frames
    spec = spec[:, offset // HOP: offset // HOP + len(active)]
    m = min(spec.shape[1], len(active))
    spec, act, vcd = spec[:, :m], active[:m], voiced[:m]
    sel = act if act.any() else np.ones(m, bool)
    power = spec ** 2
    for name, values in (
        ("centroid_hz", librosa.feature.spectral_centroid(S=spec, sr=SAMPLE_RATE)[0]),
        ("bandwidth_hz", librosa.feature.spectral_bandwidth(S=spec, sr=SAMPLE_RATE)[0]),
        ("rolloff_hz", librosa.feature.spectral_rolloff(S=spec, sr=SAMPLE_RATE)[0]),
        ("flatness", librosa.feature.spectral_flatness(S=spec)[0]),
    ):
        _stats(name, values[sel], out, full=False)
    zcr = librosa.feature.zero_crossing_rate(x, frame_length=N_FFT, hop_length=HOP, center=False)[0]
    _stats("zcr", zcr[offset // HOP: offset // HOP + m][sel[: len(zcr)]] if len(zcr) else zcr, out, full=False)
    contrast = librosa.feature.spectral_contrast(S=spec, sr=SAMPLE_RATE, n_bands=5, fmin=100.0)
    for band, row in enumerate(contrast):
        out[f"contrast_{band}_mean"] = float(row[sel].mean())
    mel = librosa.feature.melspectrogram(S=power, sr=SAMPLE_RATE, n_mels=40)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel, ref=1.0), n_mfcc=N_MFCC)
    delta = librosa.feature.delta(mfcc, width=9, mode="nearest") if m >= 9 else np.zeros_like(mfcc)
    for i in range(N_MFCC):
        out[f"mfcc{i + 1}_mean"] = float(mfcc[i, sel].mean())
        out[f"mfcc{i + 1}_std"] = float(mfcc[i, sel].std())
        out[f"mfcc{i + 1}_voiced_mean"] = float(mfcc[i, vcd].mean()) if vcd.any() else out[f"mfcc{i + 1}_mean"]
        out[f"dmfcc{i + 1}_std"] = float(delta[i, sel].std())


def _timing(active: np.ndarray, voiced: np.ndarray, out: dict[str, float]) -> None:
    """Rate and length of voiced segments and pauses (eGeMAPS' temporal features), over the active span."""
    span = np.flatnonzero(active)
    lo, hi = (int(span[0]), int(span[-1]) + 1) if span.size else (0, len(active))
    seconds = max((hi - lo) * HOP / SAMPLE_RATE, HOP / SAMPLE_RATE)
    on, off = runs(voiced[lo:hi])
    on_s, off_s = on * HOP / SAMPLE_RATE, off * HOP / SAMPLE_RATE
    out["voiced_share"] = float(voiced[lo:hi].mean()) if hi > lo else 0.0
    out["voiced_segments_per_s"] = float(on.size / seconds)
    out["voiced_segment_s_mean"] = float(on_s.mean()) if on.size else 0.0
    out["voiced_segment_s_std"] = float(on_s.std()) if on.size else 0.0
    out["unvoiced_segment_s_mean"] = float(off_s.mean()) if off.size else 0.0
    pauses, _ = runs(~active[lo:hi])
    out["pauses_per_s"] = float(pauses.size / seconds)
    out["active_seconds"] = float(seconds)


def feature_names() -> list[str]:
    """The names :func:`prosody_features` returns, in order."""
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    return list(prosody_features((0.1 * np.sin(2 * np.pi * 150 * t)).astype(np.float32)))


def feature_vector(x: np.ndarray, names: list[str] | None = None) -> np.ndarray:
    """:func:`prosody_features` as a float32 vector in the order of ``names`` (default: :func:`feature_names`)."""
    feats = prosody_features(x)
    return np.array([feats[k] for k in (names or list(feats))], dtype=np.float32)


def egemaps_features(x: np.ndarray) -> dict[str, float]:  # pragma: no cover - optional, licence-restricted
    """The 88 eGeMAPSv02 functionals from ``opensmile``. openSMILE is free for research and personal use only
    (audEERING's licence): install it yourself (``pip install opensmile``) and only for non-commercial work."""
    try:
        import opensmile
    except ImportError:
        raise ImportError("eGeMAPS features need opensmile (research / non-commercial licence; "
                          "pip install opensmile)") from None
    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                            feature_level=opensmile.FeatureLevel.Functionals)
    row: Any = smile.process_signal(np.asarray(x, np.float32), SAMPLE_RATE).iloc[0]
    return {str(k): float(v) for k, v in row.items() if math.isfinite(float(v))}


__all__ = ["FMAX", "FMIN", "feature_names", "feature_vector", "hnr_db", "period_correlation", "prosody_features",
           "runs", "semitones", "slope", "yin"]
