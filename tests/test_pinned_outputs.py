"""The shipped models' outputs on a small fixed set stay what scripts/pin_outputs.py recorded (to 2e-4, the
spread of onnxruntime's kernels across CPUs): a re-export or a refactor that changes them fails here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import affectkit

PINNED = json.loads((Path(__file__).parent / "fixtures" / "pinned_outputs.json").read_text())


@pytest.mark.parametrize("model", sorted(PINNED["models"]))
def test_shipped_model_outputs_are_pinned(model):
    analyzer = affectkit.load(model)
    for labels, want in PINNED["models"][model].items():
        if labels == "info":
            continue
        batch = analyzer.analyze_batch(PINNED["texts"], None if labels == "native" else labels)
        np.testing.assert_allclose(batch.dist, np.array(want["dist"]), atol=2e-4, err_msg=f"{model} {labels}")
        if want["vad"] is not None:
            np.testing.assert_allclose(batch.vad, np.array(want["vad"]), atol=2e-4, err_msg=f"{model} {labels} vad")
