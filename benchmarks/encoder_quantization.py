"""Encoder-only speed and faithfulness of the ways to export `default`'s encoder to int8, from the same weights.

    python benchmarks/encoder_quantization.py          # needs the train extra (onnx) and git

The weights are those of `default`'s weight-only int8 export (git 4a5c155), which ``dequantize_weights`` turns back
into float32 exactly (the same int8 codes come back), so every variant starts from one float32 model:

- ``float32``: weights as float32, float32 compute;
- ``ort dynamic``: onnxruntime's ``quantize_dynamic`` (per-channel int8 weights, one activation scale per
  tensor); batch-dependent, so `affectkit` runs it one sequence per call (``batch 1``);
- ``ort static QDQ``: ``quantize_static`` with activation scales calibrated by min/max on 400 GoEmotions train
  texts (the attention-score products stay float32); also with the feed-forward output products in float32;
- ``per-token int8``: ``affectkit.training.quantize.quantize_int8`` (what `affectkit train` exports now).

For each: texts/s on the 5,427 GoEmotions test texts through ``OnnxTransformerEncoder`` (length-sorted batches,
one single-threaded run per core; best of 2 passes), the cosine of each pooled vector to float32 (min and mean),
and the largest change of a text's pooled vector between its batch and running alone (0 = batch-exact).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

SHIPPED = Path(__file__).resolve().parents[1] / "src/affectkit/pretrained/default/encoder"
WEIGHT_ONLY_COMMIT = "4a5c155"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", help="a weight-only int8 or float32 encoder .onnx (default: git "
                                     f"{WEIGHT_ONLY_COMMIT}'s `default` encoder)")
    ap.add_argument("--calibration-texts", type=int, default=400)
    args = ap.parse_args()

    from affectkit.datasets import load_dataset
    from affectkit.threads import cpu_description, limit_blas_threads

    limit_blas_threads()
    texts = load_dataset("goemotions", "test").texts
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        source = Path(args.source) if args.source else tmp / "weights-int8.onnx"
        if not args.source:
            blob = subprocess.run(["git", "show", f"{WEIGHT_ONLY_COMMIT}:src/affectkit/pretrained/default/encoder/"
                                   "model.onnx"], check=True, capture_output=True).stdout
            source.write_bytes(blob)
        models = build_variants(source, tmp, args.calibration_texts)
        runs = [("float32", "float32", 16), ("ort dynamic, batch 1", "dynamic", 1),
                ("ort dynamic, batches of 16 (batch-dependent)", "dynamic", 16),
                ("ort static QDQ", "static", 16), ("ort static QDQ, FFN output float32", "static-ffn-fp32", 16),
                ("per-token int8 (shipped)", "per-token", 1), ("per-token int8, batches of 16 (shipped)", "per-token", 16)]
        reference = None
        print(f"encoder of `default` on {len(texts):,} GoEmotions test texts; {cpu_description()}")
        print("| export | texts/s | cosine to float32 (min / mean) | batch vs alone (max abs) |\n|---|---|---|---|")
        for label, variant, batch_size in runs:
            encoder = load(models[variant], tmp / f"{variant}-{batch_size}", batch_size, qdq=variant.startswith("static"))
            rate, pooled = speed(encoder, texts)
            reference = pooled if reference is None else reference
            cos = (pooled * reference).sum(1) / np.linalg.norm(pooled, axis=1) / np.linalg.norm(reference, axis=1)
            together = encoder.encode(texts[:64]).pooled
            alone = np.concatenate([encoder.encode([t]).pooled for t in texts[:64]])
            print(f"| {label} | {rate:,.0f} | {cos.min():.4f} / {cos.mean():.4f} | "
                  f"{np.abs(together - alone).max():.1e} |", flush=True)


def build_variants(source: Path, tmp: Path, n_calibration: int) -> dict[str, Path]:
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

    from affectkit.training.quantize import dequantize_weights, quantize_int8

    fp32 = tmp / "float32.onnx"
    dequantize_weights(source, fp32)
    out = {"float32": fp32, "dynamic": tmp / "dynamic.onnx", "per-token": tmp / "per-token.onnx",
           "static": tmp / "static.onnx", "static-ffn-fp32": tmp / "static-ffn-fp32.onnx"}
    quantize_dynamic(str(fp32), str(out["dynamic"]), per_channel=True, weight_type=QuantType.QInt8,
                     op_types_to_quantize=["MatMul"])
    quantize_int8(fp32, out["per-token"])
    import onnx

    matmuls = [n.name for n in onnx.load(str(fp32)).graph.node if n.op_type == "MatMul"]
    attention = [n for n in matmuls if n.split("/")[-2] == "self"]  # scores and weighted values: two activations
    ffn_output = [n for n in matmuls if "/output/dense/" in n and "attention" not in n]
    for variant, excluded in (("static", attention), ("static-ffn-fp32", attention + ffn_output)):
        quantize_static(str(fp32), str(out[variant]), CalibrationTexts(n_calibration), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=["MatMul"], nodes_to_exclude=excluded)
    return out


class CalibrationTexts:
    """GoEmotions train texts, one sequence per feed, for ``quantize_static`` (a CalibrationDataReader)."""

    def __init__(self, n: int) -> None:
        from tokenizers import Tokenizer

        from affectkit.datasets import load_dataset

        tok = Tokenizer.from_file(str(SHIPPED / "tokenizer.json"))
        tok.no_padding()
        tok.no_truncation()
        train = load_dataset("goemotions", "train").texts
        pick = np.random.default_rng(0).choice(len(train), n, replace=False)
        self.feeds = iter([self._feed(tok.encode(train[i]).ids[:128]) for i in pick])

    @staticmethod
    def _feed(ids: list[int]) -> dict[str, np.ndarray]:
        x = np.array([ids], dtype=np.int64)
        return {"input_ids": x, "attention_mask": np.ones_like(x), "token_type_ids": np.zeros_like(x)}

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.feeds, None)


def load(model_file: Path, folder: Path, batch_size: int, qdq: bool):
    """An ``OnnxTransformerEncoder`` over ``model_file``; a static QDQ model keeps onnxruntime's QDQ fusions on."""
    import onnxruntime as ort

    from affectkit.modules.encoders import OnnxTransformerEncoder

    folder.mkdir(parents=True)
    (folder / "tokenizer.json").write_bytes((SHIPPED / "tokenizer.json").read_bytes())
    config = json.loads((SHIPPED / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "batch_size": batch_size, "quantization": "",
                                                    "model_file": str(model_file)}))
    encoder = OnnxTransformerEncoder(folder)
    if qdq:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        encoder.session = ort.InferenceSession(str(model_file), opts, providers=["CPUExecutionProvider"])
    return encoder


def speed(encoder, texts: list[str]) -> tuple[float, np.ndarray]:
    encoder.encode(texts[:256])  # warm-up
    best, pooled = float("inf"), None
    for _ in range(2):
        t = time.perf_counter()
        pooled = np.concatenate([encoder.encode(texts[i : i + 1024]).pooled for i in range(0, len(texts), 1024)])
        best = min(best, time.perf_counter() - t)
    return len(texts) / best, pooled


if __name__ == "__main__":
    main()
