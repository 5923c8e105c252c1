"""Weight-only int8 storage for an exported ONNX encoder.

Every large float32 weight (the embedding tables and the matrices of the linear layers) is stored as int8 with one
symmetric scale per output channel, behind a standard ``DequantizeLinear`` node. onnxruntime folds those nodes into
float32 constants when the session starts (``OnnxTransformerEncoder`` sets ``session.disable_quant_qdq``), so the
file is a quarter of the float32 size while inference runs in float32.

Why not onnxruntime's dynamic int8 (``quantize_dynamic``)? It quantises activations with one scale per tensor, so
a text's scores would depend on the other texts in its batch; and on CPUs without VNNI (AVX2 only) its int8 matrix
products are no faster than float32 ones. onnxruntime's own weight-only quantiser (``MatMulNBitsQuantizer``) emits
8-bit weights only as ``MatMulNBits`` operators, which quantise activations too, and does not cover ``Gather``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

QUANTIZATION = "int8 weights (per-channel, symmetric), float32 compute"


def quantize_weights_int8(src: str | Path, dst: str | Path, min_size: int = 4096) -> None:
    """Store every float32 matrix of ``src`` with at least ``min_size`` elements as int8 + per-channel scales.

    Matrices get one scale per column (a ``MatMul`` weight ``(in, out)``: per output unit) unless they are
    taller than 4,096 rows (an embedding table ``(vocab, dim)``: one scale per row, i.e. per token).
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    kept, dequantize = [], []
    for init in graph.initializer:
        w = numpy_helper.to_array(init)
        if w.dtype != np.float32 or w.size < min_size or w.ndim != 2:
            kept.append(init)
            continue
        axis = 1 if w.shape[0] <= 4096 else 0
        scale = (np.maximum(np.abs(w).max(axis=1 - axis), 1e-12) / 127.0).astype(np.float32)
        q = np.clip(np.rint(w / scale.reshape((1, -1) if axis == 1 else (-1, 1))), -127, 127).astype(np.int8)
        kept += [numpy_helper.from_array(q, f"{init.name}.int8"), numpy_helper.from_array(scale, f"{init.name}.scale")]
        dequantize.append(helper.make_node("DequantizeLinear", [f"{init.name}.int8", f"{init.name}.scale"],
                                           [init.name], axis=axis))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(dequantize + nodes)
    onnx.save(model, str(dst))
