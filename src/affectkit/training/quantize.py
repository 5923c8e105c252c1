"""Int8 export of an ONNX encoder.

``quantize_int8`` (what ``affectkit train`` exports): every matrix product by a weight matrix runs in int8, with
one scale per output channel for the weights and one scale per token for the activations, computed at run time
(ZeroQuant, Yao et al. 2022). On CPUs with VNNI (AVX-512 VNNI, AVX-VNNI) onnxruntime's int8 products are about
twice as fast as float32. A token's scale depends only on that token, so a text's scores do not depend on the
other texts in its batch. onnxruntime's own ``quantize_dynamic`` uses one scale for the whole activation tensor,
which makes them depend on it, so its models must run one text per call.

``quantize_weights_int8``: weight-only int8 storage behind ``DequantizeLinear``, which onnxruntime folds into
float32 constants at load (``OnnxTransformerEncoder`` sets ``session.disable_quant_qdq``). ``quantize_int8`` uses
it for the embedding tables; encoders exported before int8 products (float32 compute) used it throughout.

``dequantize_weights`` reverses the weight-only storage (the same int8 codes come back as float32), so an encoder
exported that way can be re-exported with int8 products without the original float32 weights.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

QUANTIZATION = "int8 (per-token activations, per-channel weights)"


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
        q, scale = _per_channel_int8(w, axis)
        kept += [numpy_helper.from_array(q, f"{init.name}.int8"), numpy_helper.from_array(scale, f"{init.name}.scale")]
        dequantize.append(helper.make_node("DequantizeLinear", [f"{init.name}.int8", f"{init.name}.scale"],
                                           [init.name], axis=axis))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(dequantize + nodes)
    gather_before_dequantize(model)
    onnx.save(model, str(dst))


def gather_before_dequantize(model) -> int:  # type: ignore[no-untyped-def]
    """Look up rows of an int8 table with one scale per row before dequantising them: ``Gather(DequantizeLinear(
    codes, scale), ids)`` becomes ``Cast(Gather(codes, ids)) * Gather(scale, ids)``, the same numbers, so the
    float32 table (47 MB for a 30k x 384 vocabulary) is never made; onnxruntime would otherwise fold it into a
    float32 constant at load. Changes ``model`` in place; returns how many tables it rewrote."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    inits = {i.name for i in graph.initializer}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    rewritten = 0
    for dq in list(graph.node):
        axis = next((a.i for a in dq.attribute if a.name == "axis"), 1)
        users = consumers.get(dq.output[0], [])
        if (dq.op_type != "DequantizeLinear" or len(dq.input) != 2 or axis != 0 or dq.input[0] not in inits
                or len(users) != 1 or users[0].op_type != "Gather" or users[0].input[0] != dq.output[0]
                or any(a.name == "axis" and a.i != 0 for a in users[0].attribute)):
            continue
        gather, p = users[0], dq.output[0]
        codes, scale = dq.input
        ids, out = gather.input[1], gather.output[0]
        new = [helper.make_node("Gather", [codes, ids], [f"{p}.rows_int8"], axis=0),
               helper.make_node("Cast", [f"{p}.rows_int8"], [f"{p}.rows_float"], to=TensorProto.FLOAT),
               helper.make_node("Gather", [scale, ids], [f"{p}.rows_scale"], axis=0),
               helper.make_node("Unsqueeze", [f"{p}.rows_scale", f"{p}.last_axis"], [f"{p}.rows_scale_1"]),
               helper.make_node("Mul", [f"{p}.rows_float", f"{p}.rows_scale_1"], [out])]
        graph.initializer.append(numpy_helper.from_array(np.array([-1], np.int64), f"{p}.last_axis"))
        at = list(graph.node).index(gather)
        graph.node.remove(gather)
        for k, node in enumerate(new):
            graph.node.insert(at + k, node)
        graph.node.remove(dq)
        rewritten += 1
    return rewritten


def _per_channel_int8(w: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 codes of ``w`` and one scale per slice along ``axis`` (1: per column, 0: per row)."""
    scale = (np.maximum(np.abs(w).max(axis=1 - axis), 1e-12) / 127.0).astype(np.float32)
    q = np.clip(np.rint(w / scale.reshape((1, -1) if axis == 1 else (-1, 1))), -127, 127).astype(np.int8)
    return q, scale


def quantize_int8(src: str | Path, dst: str | Path, min_size: int = 4096) -> None:
    """Int8 matrix products with per-token activation scales (ZeroQuant, Yao et al. 2022) and per-channel weights.

    Each ``MatMul`` by a float32 weight matrix ``W`` (``K x N``, at least ``min_size`` elements) becomes, for
    input rows ``x`` (one per token)::

        s = max|x| / 127                                  one scale per token
        q = QuantizeLinear(x, s, 128)                     uint8 codes, zero point 128
        y = MatMulIntegerToFloat(q, W_q, 1, w_scale, 128) * s

    with ``W_q`` the int8 codes of the weights and ``w_scale`` their per-column scales (``MatMulIntegerToFloat``
    is onnxruntime's fused int8 product with float output). A token's scale depends on that token only, so a
    text's scores do not depend on the other texts in its batch (onnxruntime's ``quantize_dynamic`` uses one
    scale for the whole tensor). Inputs shared by several products (query, key and value) are quantised once.
    Embedding tables get weight-only int8 storage (``quantize_weights_int8``).
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    new_inits = [numpy_helper.from_array(np.array(128, np.uint8), "q8.zero_point"),
                 numpy_helper.from_array(np.array(127.0, np.float32), "q8.max_code"),
                 numpy_helper.from_array(np.array(1e-12, np.float32), "q8.eps"),
                 numpy_helper.from_array(np.array(1.0, np.float32), "q8.one"),
                 numpy_helper.from_array(np.array([-1], np.int64), "q8.flat")]
    used: set[str] = set()
    quantised: dict[str, tuple[str, str]] = {}  # activation name -> (uint8 codes, per-token scales)
    nodes = []
    for node in graph.node:
        w = numpy_helper.to_array(inits[node.input[1]]) if node.op_type == "MatMul" and node.input[1] in inits \
            else None
        if w is None or w.dtype != np.float32 or w.ndim != 2 or w.size < min_size or node.input[0] in inits:
            nodes.append(node)
            continue
        x, out = node.input[0], node.output[0]
        if x not in quantised:
            p = f"{x}.q8"
            new_inits.append(numpy_helper.from_array(np.array([-1, w.shape[0]], np.int64), f"{p}.rows_shape"))
            nodes += [helper.make_node("Abs", [x], [f"{p}.abs"]),
                      helper.make_node("ReduceMax", [f"{p}.abs"], [f"{p}.amax"], axes=[-1], keepdims=1),
                      helper.make_node("Max", [f"{p}.amax", "q8.eps"], [f"{p}.amax_eps"]),
                      helper.make_node("Div", [f"{p}.amax_eps", "q8.max_code"], [f"{p}.scale"]),
                      # QuantizeLinear takes one scale per row of a matrix: tokens as rows, then back
                      helper.make_node("Reshape", [x, f"{p}.rows_shape"], [f"{p}.rows"]),
                      helper.make_node("Reshape", [f"{p}.scale", "q8.flat"], [f"{p}.row_scale"]),
                      helper.make_node("Shape", [f"{p}.row_scale"], [f"{p}.n_rows"]),
                      helper.make_node("Expand", ["q8.zero_point", f"{p}.n_rows"], [f"{p}.row_zero_point"]),
                      helper.make_node("QuantizeLinear", [f"{p}.rows", f"{p}.row_scale", f"{p}.row_zero_point"],
                                       [f"{p}.row_codes"], axis=0),
                      helper.make_node("Shape", [x], [f"{p}.shape"]),
                      helper.make_node("Reshape", [f"{p}.row_codes", f"{p}.shape"], [f"{p}.codes"])]
            quantised[x] = (f"{p}.codes", f"{p}.scale")
        codes, scale = quantised[x]
        q, w_scale = _per_channel_int8(w, axis=1)
        wn = node.input[1]
        new_inits += [numpy_helper.from_array(q, f"{wn}.int8"), numpy_helper.from_array(w_scale, f"{wn}.scale")]
        used.add(wn)
        nodes += [helper.make_node("MatMulIntegerToFloat", [codes, f"{wn}.int8", "q8.one", f"{wn}.scale",
                                                            "q8.zero_point"], [f"{out}.unscaled"],
                                   domain="com.microsoft"),
                  helper.make_node("Mul", [f"{out}.unscaled", scale], [out])]
    kept = [i for i in graph.initializer if i.name not in used]
    del graph.initializer[:]
    graph.initializer.extend(kept + new_inits)
    del graph.node[:]
    graph.node.extend(nodes)
    if quantised and not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    with tempfile.TemporaryDirectory() as tmp:  # then the embedding tables: weight-only int8
        onnx.save(model, str(Path(tmp) / "matmuls.onnx"))
        quantize_weights_int8(Path(tmp) / "matmuls.onnx", dst, min_size)


def dequantize_weights(src: str | Path, dst: str | Path) -> None:
    """Fold the ``DequantizeLinear`` nodes of a weight-only int8 model (``quantize_weights_int8``) back into float32
    initializers. Re-quantising the result per channel gives back the same int8 codes."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    if any(n.op_type in ("MatMulInteger", "MatMulIntegerToFloat") for n in graph.node):
        raise ValueError(f"{src} computes in int8 (quantize_int8); only weight-only int8 models can be dequantized")
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    folded, nodes, weights = set(), [], []
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and node.input[0] in inits and node.input[1] in inits:
            q, scale = inits[node.input[0]].astype(np.float32), inits[node.input[1]]
            axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
            w = q * (scale.reshape(1, -1) if axis == 1 else scale.reshape(-1, 1)) if scale.ndim else q * scale
            weights.append(numpy_helper.from_array(w.astype(np.float32), node.output[0]))
            folded |= {node.input[0], node.input[1]}
        else:
            nodes.append(node)
    kept = [i for i in graph.initializer if i.name not in folded]
    del graph.initializer[:]
    graph.initializer.extend(kept + weights)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.save(model, str(dst))
