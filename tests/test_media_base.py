"""Media plumbing: modality from content, safe image opening, segment rows and summaries, the router."""

from __future__ import annotations

import struct
import wave
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from affectkit.labels import get_labelset
from affectkit.media import MediaError, detect_modality, open_image
from affectkit.media.base import MEDIA_FIELDS, MediaAnalyzer
from affectkit.schema import BatchPrediction


def write_wav(path: Path, seconds: float = 0.2, rate: int = 8000) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    samples = (np.sin(2 * np.pi * 440 * t) * 10000).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path


def png_bomb(path: Path, width: int, height: int) -> Path:
    """A valid 1x1 PNG whose header claims ``width`` x ``height`` (CRC fixed): a decompression bomb's header."""
    Image.new("L", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = 8 + 8  # signature, then length + b"IHDR"
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12 : ihdr + 13]))
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF"])
def test_images_are_recognised_by_content_whatever_the_extension(tmp_path, fmt):
    path = tmp_path / "looks_like.wav"  # a misleading extension
    Image.new("RGB", (8, 8), (10, 200, 30)).save(path, fmt)
    assert detect_modality(path) == "image"


def test_audio_text_and_unknown_files(tmp_path):
    assert detect_modality(write_wav(tmp_path / "tone.jpg")) == "audio"
    (tmp_path / "notes.bin").write_text("plain words, no media here\n", encoding="utf-8")
    assert detect_modality(tmp_path / "notes.bin") == "text"
    (tmp_path / "noise.png").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(MediaError, match="unrecognised"):
        detect_modality(tmp_path / "noise.png")
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(MediaError, match="empty"):
        detect_modality(tmp_path / "empty.jpg")
    with pytest.raises(MediaError, match="no such file"):
        detect_modality(tmp_path / "missing.jpg")


def test_open_image_refuses_bombs_and_truncated_files(tmp_path):
    with pytest.raises(MediaError, match="decompression bomb"):
        open_image(png_bomb(tmp_path / "bomb.png", 20000, 20000))  # 400 MP claimed by a 70-byte file
    with pytest.raises(MediaError, match="over the limit of 100"):
        open_image(png_bomb(tmp_path / "small.png", 20, 20), max_pixels=100)
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "a.jpg")
    data = (tmp_path / "a.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError, match="corrupt or truncated"):
        open_image(tmp_path / "cut.jpg")
    im = open_image(tmp_path / "a.jpg", "L")
    assert im.mode == "L" and im.size == (64, 64)


class Stripes(MediaAnalyzer):
    """A real (not mocked) media analyzer: one segment per 10 px of image width; segment i's distribution is
    one-hot on label i % K, weight i + 1; an image 30 px wide or less has no segment."""

    name = "stripes"

    def __init__(self) -> None:
        super().__init__("ekman")

    def analyze_segments(self, path: str) -> BatchPrediction:
        width = open_image(path).size[0]
        n = max(0, width // 10 - 3)
        k = len(self.labelset)
        dist = np.eye(k)[np.arange(n) % k]
        vad = np.column_stack([np.linspace(-1, 1, n), np.full(n, 0.5), np.full(n, np.nan)]) if n else np.zeros((0, 3))
        return BatchPrediction(self.labelset, dist, vad=vad, intensity=np.full(n, 0.2), model=self.name,
                               extra={"weight": [float(i + 1) for i in range(n)],
                                      "start": [float(i) for i in range(n)], "end": [i + 1.0 for i in range(n)]})


def test_summary_is_the_weighted_mean_of_segments(tmp_path):
    Image.new("RGB", (50, 5)).save(tmp_path / "two.png")  # 2 segments, weights 1 and 2
    row = Stripes().analyze(str(tmp_path / "two.png"), top_k=None)
    assert row.error is None
    assert row.distribution["anger"] == pytest.approx(1 / 3) and row.distribution["disgust"] == pytest.approx(2 / 3)
    assert row.valence == pytest.approx((1 * -1 + 2 * 1) / 3) and row.arousal == pytest.approx(0.5)
    assert row.dominance is None and row.n_segments == 2
    assert row.extra["start"] == 0.0 and row.extra["end"] == 2.0 and row.extra["modality"] == "image"
    assert set(MEDIA_FIELDS) <= set(row.extra) and "weight" not in row.extra


def test_segments_rows_keep_order_parents_and_errors(tmp_path):
    Image.new("RGB", (60, 5)).save(tmp_path / "three.png")
    Image.new("RGB", (20, 5)).save(tmp_path / "none.png")
    write_wav(tmp_path / "sound.wav")
    items = [str(tmp_path / "three.png"), str(tmp_path / "none.png"), str(tmp_path / "sound.wav"),
             str(tmp_path / "gone.png")]
    batch = Stripes().analyze_segments_batch(items, "ekman", first_parent=10)
    assert batch.extra["parent"] == [10, 10, 10, 11, 12, 13]
    assert batch.extra["segment"] == [0, 1, 2, None, None, None]
    assert batch.errors[:3] == [None] * 3
    assert "nothing to analyze" in batch.errors[3]
    assert "this file is audio" in batch.errors[4] and "no such file" in batch.errors[5]
    one_per_file = Stripes().analyze_batch(items)
    assert len(one_per_file) == 4 and one_per_file.errors[0] is None and all(one_per_file.errors[1:])


def test_router_routes_by_content_and_keeps_columns(tmp_path):
    from affectkit.media.router import MediaRouter

    Image.new("RGB", (40, 40), (250, 250, 250)).save(tmp_path / "blank.png")
    (tmp_path / "words.txt").write_text("hello", encoding="utf-8")
    router = MediaRouter(routes={"image": "face"})
    batch = router.analyze_batch([str(tmp_path / "blank.png"), str(tmp_path / "words.txt"), 3])
    assert batch.errors[0] == "no face found"
    assert "no media analyzer reads text" in batch.errors[1] and "expected a file path" in batch.errors[2]
    assert batch.labelset == get_labelset("ekman")
    assert list(batch.extra)[: len(MEDIA_FIELDS)] == list(MEDIA_FIELDS)


def test_media_models_load_by_name_in_a_fresh_process():
    import subprocess
    import sys

    code = ("import affectkit; a = affectkit.load('media:face,margin=0.2,flip=0'); "
            "assert (a.options.margin, a.options.flip) == (0.2, False); "
            "assert affectkit.load('media:auto,image=scene').routes['image'] == 'scene'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()


def test_text_that_starts_like_a_magic_number_is_text(tmp_path):
    (tmp_path / "cars.txt").write_text("BMW and FORM are words, not formats\n", encoding="utf-8")
    assert detect_modality(tmp_path / "cars.txt") == "text"
