"""Speech and video analyzers: decoding, streaming windows, prosody formulas, fusion, and bad files as row errors.
Every audio file is made here (numpy tones and noise written with soundfile); no corpus is needed."""

from __future__ import annotations

import math
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

sf = pytest.importorskip("soundfile", reason="the audio extra (soundfile) is not installed")
pytest.importorskip("librosa", reason="the audio extra (librosa) is not installed")

from affectkit.media.audio import (
    SAMPLE_RATE,
    AudioError,
    container_truncation,
    fixed_windows,
    iter_windows,
    load_audio,
    rms_dbfs,
)
from affectkit.media.prosody import hnr_db, period_correlation, prosody_features, runs, semitones, slope
from affectkit.media.speech import ProsodyHead, SpeechAnalyzer, as_bool, fuse, overall_level

SR = SAMPLE_RATE


def tone(freq: float, seconds: float, amp: float = 0.3, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def noisy(x: np.ndarray, seed: int = 0) -> np.ndarray:
    return (x + 0.005 * np.random.default_rng(seed).standard_normal(len(x))).astype(np.float32)


def write(path: Path, x: np.ndarray, sr: int = SR) -> str:
    sf.write(str(path), x, sr, subtype="PCM_16")
    return str(path)


# -- formulas ----------------------------------------------------------------------------------------------------------
def test_level_semitones_hnr_runs_slope_by_hand():
    assert rms_dbfs(np.full(100, 0.1, np.float32)) == pytest.approx(-20.0, abs=1e-6)
    assert rms_dbfs(tone(100, 1.0, amp=0.5)) == pytest.approx(20 * math.log10(0.5 / math.sqrt(2)), abs=0.01)
    assert rms_dbfs(np.zeros(10)) == -math.inf
    assert semitones(np.array([55.0, 27.5]))[0] == pytest.approx(12.0) and semitones(np.array([27.5]))[0] == 0
    assert hnr_db(np.array([0.5, 0.9])) == pytest.approx([0.0, 10 * math.log10(9)])
    on, off = runs(np.array([1, 1, 0, 1, 0, 0, 1], bool))
    assert on.tolist() == [2, 1, 1] and off.tolist() == [1, 2]
    assert slope(np.array([1.0, 3.0, 5.0]), np.array([0.0, 1.0, 2.0])) == pytest.approx(2.0)
    assert slope(np.array([1.0]), np.array([0.0])) == 0.0
    assert overall_level([-20.0, None], np.array([1.0, 1.0])) == pytest.approx(10 * math.log10(0.01 / 2), abs=0.01)
    assert overall_level([None], np.array([1.0])) is None


def test_period_correlation_is_one_for_a_periodic_frame_and_low_for_noise():
    frames = np.stack([tone(200, 0.064), np.random.default_rng(0).normal(size=1024).astype(np.float32)], axis=1)
    r = period_correlation(frames, np.array([SR / 200, SR / 200]))
    assert r[0] == pytest.approx(1.0, abs=1e-3) and abs(r[1]) < 0.2


def test_prosody_of_a_pure_tone_and_of_bursts():
    f = prosody_features(tone(220, 2.0))
    assert f["f0_st_mean"] == pytest.approx(12 * math.log2(220 / 27.5), abs=0.1)  # 36 semitones
    assert f["f0_st_range"] < 0.2 and f["voiced_share"] > 0.95
    assert f["level_db_p50"] == pytest.approx(20 * math.log10(0.3 / math.sqrt(2)), abs=0.2)
    burst, gap = tone(150, 0.3), np.zeros(int(0.2 * SR), np.float32)
    g = prosody_features(np.concatenate([burst, gap, burst, gap, burst]))
    assert g["voiced_segments_per_s"] == pytest.approx(3 / 1.3, rel=0.1)
    assert g["pauses_per_s"] == pytest.approx(2 / 1.3, rel=0.1)
    assert g["voiced_segment_s_mean"] == pytest.approx(0.3, abs=0.04)
    with pytest.raises(ValueError, match="too short"):
        prosody_features(tone(220, 0.1))


def test_fuse_is_a_linear_pool_weighted_by_text_intensity():
    pp, pt = np.array([[0.8, 0.2]]), np.array([[0.0, 1.0]])
    # w = 0.5 * 0.4 = 0.2: 0.8 * [0.8, 0.2] + 0.2 * [0, 1]
    assert fuse(pp, pt, np.array([0.4]), 0.5) == pytest.approx(np.array([[0.64, 0.36]]))
    assert fuse(pp, None, None, 0.5) is not None and fuse(None, pt, None, 0.5) == pytest.approx(pt)
    assert fuse(pp, pt, np.array([1.0]), 5.0) == pytest.approx(pt)  # the weight is clipped to 1
    assert as_bool("false") is False and as_bool("ON") is True and as_bool(0) is False
    with pytest.raises(ValueError):
        as_bool("maybe")


# -- decoding and streaming ------------------------------------------------------------------------------------------------
def test_decoding_resamples_and_mixes_to_16k_mono(tmp_path):
    stereo = np.stack([tone(300, 1.0, sr=44_100), tone(300, 1.0, sr=44_100)], axis=1)
    x = load_audio(write(tmp_path / "s.wav", stereo, 44_100))
    assert abs(len(x) - SR) <= 2 and rms_dbfs(x) == pytest.approx(rms_dbfs(tone(300, 1.0)), abs=0.1)
    with pytest.raises(AudioError, match="longer than"):
        load_audio(write(tmp_path / "l.wav", tone(300, 3.0)), max_seconds=2)


def test_fixed_windows_from_a_generator_are_lazy_and_merge_a_short_tail():
    produced = []

    def blocks(seconds: int):
        for i in range(seconds):
            produced.append(i)
            yield np.full(SR, 0.1, np.float32)

    stream = fixed_windows(blocks(600), window_s=20.0)
    first = next(stream)
    assert first.index == 0 and len(first.samples) == 20 * SR
    assert len(produced) <= 41  # at most two windows and a block read ahead, not the 600 s
    rest = list(stream)
    assert len(rest) == 29 and rest[-1].end == pytest.approx(600.0)
    half = [np.full(SR // 2, 0.1, np.float32)]
    sizes = [len(w.samples) / SR for w in fixed_windows(iter([np.zeros(int(20.5 * SR), np.float32)] + half), 10.0)]
    assert sizes == [10.0, 10.0, 1.0]  # 21 s: a 1 s tail is a window, a 0.5 s one joins the window before
    assert [len(w.samples) / SR for w in fixed_windows(iter([np.zeros(int(20.5 * SR), np.float32)]), 10.0)] \
        == [10.0, 10.5]


@pytest.fixture(scope="module")
def long_recording(tmp_path_factory) -> Path:
    """Ten minutes of noisy tones at 8 kHz, written 10 s at a time (the resampling path is exercised too)."""
    path = tmp_path_factory.mktemp("long") / "long.wav"
    rng = np.random.default_rng(0)
    with sf.SoundFile(str(path), "w", samplerate=8000, channels=1, subtype="PCM_16") as f:
        for i in range(60):
            t = np.arange(80_000) / 8000
            f.write((0.2 * np.sin(2 * np.pi * (110 if i % 2 else 330) * t)
                     + 0.005 * rng.standard_normal(80_000)).astype(np.float32))
    return path


def test_a_ten_minute_recording_streams_in_bounded_memory(long_recording):
    path = long_recording
    tracemalloc.start()
    try:
        count, seconds = 0, 0.0
        for w in iter_windows(path, window_s=20.0):
            count += 1
            seconds += len(w.samples) / SR
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 30 and seconds == pytest.approx(600.0, abs=0.05)
    whole = 600 * SR * 4  # the recording as 16 kHz float32: 38 MB
    assert peak < whole / 6, f"peak {peak / 1e6:.1f} MB"


def test_truncated_containers_are_recognised(tmp_path):
    good = write(tmp_path / "g.wav", tone(200, 1.0))
    data = Path(good).read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 2])
    assert container_truncation(Path(good)) is None
    assert "data chunk declares" in (container_truncation(cut) or "")
    ogg = tmp_path / "g.ogg"
    sf.write(str(ogg), tone(200, 2.0), SR, format="OGG", subtype="VORBIS")
    assert container_truncation(ogg) is None
    half = tmp_path / "cut.ogg"
    half.write_bytes(ogg.read_bytes()[: ogg.stat().st_size // 2])
    with pytest.raises(AudioError, match="end-of-stream"):
        load_audio(half)


# -- the analyzer ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pitch_head(tmp_path_factory) -> Path:
    """A prosody head fit on synthetic tones: low pitch = sad, high pitch = happy (no Whisper features)."""
    from affectkit.labels import get_labelset
    from affectkit.media.prosody import feature_names
    from affectkit.media.speech_corpora import SpeechCorpus
    from affectkit.media.speech_train import fit_head

    rng = np.random.default_rng(1)
    names = feature_names()
    xs, labels = [], []
    for i in range(12):
        for label, base in (("sad", 110.0), ("happy", 330.0)):
            x = tone(base * (1 + 0.05 * rng.standard_normal()), 0.8 + rng.random(), amp=0.2 + 0.1 * rng.random())
            feats = prosody_features(noisy(x, i))
            xs.append([feats[k] for k in names])
            labels.append(label)
    corpus = SpeechCorpus("tones", [Path(f"{i}.wav") for i in range(len(xs))], labels, ["a"] * len(xs))
    ls = get_labelset("ravdess")
    head = ProsodyHead(fit_head(np.array(xs, np.float32), corpus, None, None, ls, 1.0).to_category_head(), names,
                       False, 0.5, {"licence": "test"})
    folder = tmp_path_factory.mktemp("head")
    head.save(folder)
    return folder


def test_speech_end_to_end_with_bad_files_as_row_errors(tmp_path, pitch_head):
    high = write(tmp_path / "high.wav", noisy(tone(340, 1.5)))
    low = write(tmp_path / "low.wav", noisy(tone(105, 1.5)))
    zero = write(tmp_path / "zero.wav", np.zeros(0, np.float32))  # a valid header, no samples
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    silent = write(tmp_path / "silent.wav", np.zeros(SR, np.float32))
    cut = tmp_path / "cut.wav"
    cut.write_bytes(Path(high).read_bytes()[:20_000])
    codec = tmp_path / "codec.wav"  # a RIFF/WAVE file whose format tag (0x1234) no decoder knows
    pcm = (tone(200, 0.5) * 32767).astype("<i2").tobytes()
    fmt = (0x1234).to_bytes(2, "little") + (1).to_bytes(2, "little") + SR.to_bytes(4, "little") + \
        (2 * SR).to_bytes(4, "little") + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
    codec.write_bytes(b"RIFF" + (36 + len(pcm)).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
                      + fmt + b"data" + len(pcm).to_bytes(4, "little") + pcm)
    speech = SpeechAnalyzer(head=pitch_head, asr=False)
    items = [high, zero, str(empty), silent, str(cut), str(codec), low, str(tmp_path / "missing.wav")]
    batch = speech.analyze_batch(items)
    assert len(batch) == len(items)
    errors = batch.errors
    assert errors[0] is None and errors[6] is None
    assert "no samples" in errors[1] and "0 bytes" in errors[2] and "silent" in errors[3]
    assert "truncated" in errors[4] and "codec" in errors[5] and "no such file" in errors[7]
    labels = batch.labelset.labels
    assert labels[int(np.argmax(batch.dist[0]))] == "happy" and labels[int(np.argmax(batch.dist[6]))] == "sad"
    assert batch.extra["prosody_emotion"][0] == "happy" and batch.extra["modality"][0] == "audio"
    assert batch.extra["start"][0] == 0.0 and batch.extra["end"][0] == pytest.approx(1.5)
    assert not np.isnan(batch.vad[0, :2]).any() and batch.extra["transcript"][0] is None


def test_segments_give_one_row_per_window_and_the_summary_skips_silence(tmp_path, pitch_head):
    x = np.concatenate([noisy(tone(330, 10.0)), np.zeros(10 * SR, np.float32), noisy(tone(330, 5.0))])
    path = write(tmp_path / "mixed.wav", x)
    speech = SpeechAnalyzer(head=pitch_head, asr=False, window_s=10.0)
    segs = speech.analyze_segments_batch([path])
    assert segs.extra["segment"] == [0, 1, 2] and segs.extra["start"] == [0.0, 10.0, 20.0]
    assert segs.errors == [None, "silent window", None]
    row = speech.analyze_batch([path])
    assert row.errors == [None] and int(row.n_segments[0]) == 2 and row.extra["end"] == [25.0]


def test_asr_part_transcribes_and_fuses_or_skips_with_a_reason(tmp_path, pitch_head):
    from affectkit.media.asr import unavailable_reason

    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    speech = SpeechAnalyzer(head=pitch_head, asr=True)
    batch = speech.analyze_batch([write(tmp_path / "t.wav", noisy(tone(330, 2.0)))])
    assert batch.errors == [None] and isinstance(batch.extra["transcript"][0], str)
    assert batch.extra["prosody_emotion"][0] == "happy"
    assert abs(batch.dist[0].sum() - 1) < 1e-6


def test_the_readme_speech_example_is_transcribed_and_scored_from_its_words():
    """The shipped clip (examples/media/make_audio.py, eSpeak NG): no prosody head, so the transcript decides."""
    import json

    from conftest import ROOT, run_cli

    from affectkit.media.asr import unavailable_reason

    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    r = run_cli("analyze", str(ROOT / "examples" / "media" / "speech.ogg"), "--no-distribution", "-q")
    assert r.returncode == 0, r.stderr.decode()
    row = json.loads(r.stdout.decode().splitlines()[0])
    assert row["error"] is None and row["modality"] == "audio" and row["prosody_emotion"] is None
    assert "best day of my life" in row["transcript"].lower()
    assert row["emotion_1"] == "joy" and row["valence"] > 0.3
    assert 4.5 < row["end"] < 6.0


def test_video_gives_a_timeline_from_its_audio_track(tmp_path, pitch_head):
    av = pytest.importorskip("av", reason="PyAV (audio extra) is not installed")
    pytest.importorskip("cv2", reason="OpenCV (media extra) is not installed")
    from affectkit.media.video import VideoAnalyzer

    path = tmp_path / "clip.mp4"
    audio = noisy(tone(330, 12.0))
    with av.open(str(path), "w") as out:
        v = out.add_stream("mpeg4", rate=5)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream("aac", rate=SR)
        a.layout = "mono"
        for i in range(60):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 4 * i % 255, np.uint8), format="rgb24")
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
        for start in range(0, len(audio), 1024):
            chunk = audio[start:start + 1024][None, :]
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate = SR
            out.mux(a.encode(frame))
        out.mux(a.encode(None))
    video = VideoAnalyzer(window_s=10.0, speech_head=str(pitch_head), speech_asr=False)
    segs = video.analyze_segments_batch([str(path)])
    assert segs.extra["start"] == [0.0, 10.0] and segs.extra["n_faces"] == [0, 0]
    assert segs.extra["speech_emotion"][0] == "happy"
    row = video.analyze_batch([str(path)])
    assert row.errors == [None] and row.extra["modality"] == ["video"]

