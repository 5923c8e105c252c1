"""``affectkit train`` with ``modality: image`` / ``audio`` (issue 16): a scene valence/arousal head and a speech
prosody head, each trained from a tiny table this test makes (drawn images, synthesized tones, made-up but
learnable ratings and labels), written as the folder ``media:scene`` / ``media:speech`` loads, with a model card."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from affectkit.cli import main
from affectkit.training.config import TrainConfig
from affectkit.training.media_heads import derived_licence


def test_media_config_is_checked_and_text_digests_are_unchanged() -> None:
    text = TrainConfig.from_dict({"tasks": [{"type": "vad", "dataset": "emobank"}]})
    assert "modality" not in text.to_dict() and "media" not in text.to_dict()
    image = TrainConfig.from_dict({"modality": "image", "media": {"folds": 3},
                                   "tasks": [{"type": "vad", "dataset": "oasis"}]})
    assert image.media.folds == 3 and image.to_dict()["modality"] == "image"
    with pytest.raises(ValueError, match="exactly one task of type categories"):
        TrainConfig.from_dict({"modality": "audio", "tasks": [{"type": "vad", "dataset": "x.csv"}]})
    with pytest.raises(ValueError, match="unknown modality"):
        TrainConfig.from_dict({"modality": "video", "tasks": []})
    with pytest.raises(ValueError, match="unknown media options: fold"):
        TrainConfig.from_dict({"modality": "image", "media": {"fold": 3}, "tasks": [{"type": "vad", "dataset": "a"}]})


def test_licences_follow_the_data() -> None:
    assert derived_licence("research use only (OASIS authors; per-image licences unknown)") == \
        ("research use only", True)
    assert derived_licence("CC-BY-4.0") == ("CC-BY-4.0", False)
    lic, nc = derived_licence("CC-BY-NC-SA-4.0 (non-commercial: eval only, or a model licensed NC)")
    assert lic.startswith("CC-BY-NC-SA-4.0") and nc
    assert derived_licence("CC-BY-NC-4.0", explicit="my licence") == ("my licence", True)


def _write_config(tmp_path: Path, cfg: dict) -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_scene_head_from_a_table_of_drawn_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("sklearn")
    from PIL import Image

    from affectkit.media.scene import SceneAnalyzer

    rng = np.random.default_rng(0)
    (tmp_path / "img").mkdir()
    rows = []
    for i in range(40):
        grey = int(rng.integers(20, 236))
        noise = rng.integers(-12, 13, size=(64, 64, 3))
        pixels = np.clip(grey + noise, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(tmp_path / "img" / f"{i}.png")
        valence = 1 + 8 * grey / 255  # brightness -> valence, on 1..9
        rows.append({"file": f"img/{i}.png", "val": round(valence, 3), "aro": round(10 - valence, 3),
                     "split": "test" if i % 5 == 0 else "train"})
    pd.DataFrame(rows).to_csv(tmp_path / "rated.csv", index=False)
    cfg = {"name": "bright-scene", "modality": "image", "license": None, "media": {"feature_cache": None},
           "tasks": [{"type": "vad", "dataset": str(tmp_path / "rated.csv"), "license": "CC-BY-4.0",
                      "source": "drawn by the test",
                      "columns": {"text": "file", "vad": {"valence": "val", "arousal": "aro"},
                                  "vad_scale": "1..9", "split": "split"}}]}
    out = tmp_path / "scene-model"
    assert main(["train", "--config", str(_write_config(tmp_path, cfg)), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "test_pearson_r" in captured.err and f"wrote {out}" in captured.out
    assert {"backbone.onnx", "heads.json", "affectkit_media.json", "README.md", "training.json"} <= \
        {p.name for p in out.iterdir()}
    record = json.loads((out / "training.json").read_text())
    assert record["scores"]["test_pearson_r"]["valence"] > 0.8 and record["data"]["vad"]["test_rows"] == 8
    media = json.loads((out / "affectkit_media.json").read_text())
    assert media["dims"] == ["valence", "arousal"] and "CC-BY-4.0" in media["licence"] and not media["non_commercial"]
    card = (out / "README.md").read_text()
    assert "CC-BY-4.0" in card and "rated.csv" in card and "media:scene,model=" in card
    Image.new("RGB", (64, 64), (230, 230, 230)).save(tmp_path / "light.png")
    Image.new("RGB", (64, 64), (25, 25, 25)).save(tmp_path / "dark.png")
    batch = SceneAnalyzer(model=out).analyze_batch([str(tmp_path / "light.png"), str(tmp_path / "dark.png")])
    assert batch.vad[0, 0] > batch.vad[1, 0] + 0.3 and batch.vad[0, 1] < batch.vad[1, 1]


def test_scene_head_without_a_test_split_is_cross_validated_and_flags_research_only(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("sklearn")
    from PIL import Image

    (tmp_path / "img").mkdir()
    rows = []
    for i in range(12):
        grey = 20 + 18 * i
        Image.new("RGB", (32, 32), (grey, grey, grey)).save(tmp_path / "img" / f"{i}.png")
        rows.append({"text": str(tmp_path / "img" / f"{i}.png"), "v": grey / 255})
    pd.DataFrame(rows).to_csv(tmp_path / "r.csv", index=False)
    cfg = {"modality": "image", "media": {"feature_cache": str(tmp_path / "cache"), "folds": 3},
           "tasks": [{"type": "vad", "dataset": str(tmp_path / "r.csv"), "license": "research use only",
                      "columns": {"vad": {"valence": "v"}, "vad_scale": "0..1"}}]}
    out = tmp_path / "m"
    assert main(["train", "--config", str(_write_config(tmp_path, cfg)), "-o", str(out), "-q"]) == 0
    record = json.loads((out / "training.json").read_text())
    assert list(record["scores"]) == ["cv3_pearson_r"] and record["non_commercial"]
    assert json.loads((out / "affectkit_media.json").read_text())["dims"] == ["valence"]
    assert (out / "LICENSE-NONCOMMERCIAL.txt").exists() and "NON-COMMERCIAL" in (out / "README.md").read_text()
    assert list((tmp_path / "cache").glob("scene_features_*.npy"))


def test_speech_head_from_a_table_of_tones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sf = pytest.importorskip("soundfile", reason="the audio extra (soundfile) is not installed")
    pytest.importorskip("librosa", reason="the audio extra (librosa) is not installed")
    from affectkit.media.audio import SAMPLE_RATE as SR
    from affectkit.media.speech import SpeechAnalyzer

    rng = np.random.default_rng(1)

    def tone(freq: float, seconds: float, amp: float) -> np.ndarray:
        t = np.arange(int(seconds * SR)) / SR
        return (amp * np.sin(2 * np.pi * freq * t) + 0.005 * rng.standard_normal(len(t))).astype(np.float32)

    (tmp_path / "wav").mkdir()
    rows = []
    for i in range(14):
        for label, base in (("sad", 110.0), ("happy", 330.0)):
            path = tmp_path / "wav" / f"{label}{i}.wav"
            sf.write(str(path), tone(base * (1 + 0.05 * rng.standard_normal()), 0.8 + rng.random(),
                                     0.2 + 0.1 * rng.random()), SR, subtype="PCM_16")
            rows.append({"clip": f"wav/{path.name}", "emotion": label, "split": "test" if i >= 10 else "train"})
    pd.DataFrame(rows).to_csv(tmp_path / "clips.csv", index=False)
    cfg = {"name": "tones", "modality": "audio", "media": {"feature_cache": None, "text_weight": 0.3},
           "tasks": [{"type": "categories", "dataset": str(tmp_path / "clips.csv"), "labelset": "ravdess",
                      "license": "CC-BY-NC-SA-4.0",
                      "columns": {"text": "clip", "labels": "emotion", "split": "split"}}]}
    out = tmp_path / "speech-head"
    assert main(["train", "--config", str(_write_config(tmp_path, cfg)), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "test_accuracy" in err and "dev_accuracy" in err
    record = json.loads((out / "training.json").read_text())
    assert record["scores"]["test_accuracy"] >= 0.9 and record["non_commercial"]
    assert record["data"]["ravdess"]["train_rows"] + record["data"]["ravdess"]["dev_rows"] == 20
    head_cfg = json.loads((out / "affectkit_speech_head.json").read_text())
    assert head_cfg["non_commercial"] and head_cfg["text_weight"] == 0.3 and not head_cfg["whisper_embedding"]
    assert (out / "head" / "weights.safetensors").exists() and (out / "LICENSE-NONCOMMERCIAL.txt").exists()
    card = (out / "README.md").read_text()
    assert "NON-COMMERCIAL" in card and "CC-BY-NC-SA-4.0" in card and "media:speech,head=" in card
    high, low = tmp_path / "high.wav", tmp_path / "low.wav"
    sf.write(str(high), tone(340, 1.5, 0.25), SR, subtype="PCM_16")
    sf.write(str(low), tone(105, 1.5, 0.25), SR, subtype="PCM_16")
    batch = SpeechAnalyzer(head=out, asr=False).analyze_batch([str(high), str(low)])
    assert batch.extra["prosody_emotion"] == ["happy", "sad"]


def test_a_media_config_refuses_a_text_base(tmp_path: Path) -> None:
    cfg = {"modality": "image", "tasks": [{"type": "vad", "dataset": str(tmp_path / "none.csv")}]}
    assert main(["train", "--config", str(_write_config(tmp_path, cfg)), "-o", str(tmp_path / "m"),
                 "--base", "minilm"]) != 0
