"""Int8 export of ONNX encoders (affectkit.training.quantize), checked by hand and in onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from affectkit.training.quantize import dequantize_weights, quantize_int8, quantize_weights_int8  # noqa: E402


def _matmul_model(path, w: np.ndarray) -> None:
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, w.shape[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, w.shape[1]])],
        [numpy_helper.from_array(w.astype(np.float32), "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def _run(path, x: np.ndarray) -> np.ndarray:
    opts = ort.SessionOptions()
    opts.add_session_config_entry("session.disable_quant_qdq", "1")  # as OnnxTransformerEncoder runs it
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


def test_a_weight_matrix_gets_one_scale_per_output_column(tmp_path):
    w = np.array([[1.0, -2.0], [0.5, 4.0]])
    _matmul_model(tmp_path / "fp32.onnx", w)
    quantize_weights_int8(tmp_path / "fp32.onnx", tmp_path / "int8.onnx", min_size=1)
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(tmp_path / "int8.onnx")).graph.initializer}
    # column scales max|w|/127: 1/127 and 4/127; 0.5/(1/127) = 63.5 and -2/(4/127) = -63.5 round half to even
    assert np.allclose(inits["w.scale"], [1 / 127, 4 / 127])
    assert inits["w.int8"].dtype == np.int8 and inits["w.int8"].tolist() == [[127, -64], [64, 127]]
    y = _run(tmp_path / "int8.onnx", np.array([[1.0, 1.0]], dtype=np.float32))
    assert np.allclose(y, [[1 + 64 / 127, -256 / 127 + 4]], atol=1e-6)  # [1.50394, 1.98425]


def test_a_tall_table_gets_one_scale_per_row_and_small_tensors_stay_float(tmp_path):
    rng = np.random.default_rng(0)
    table = rng.normal(size=(5000, 3))  # an embedding table: one scale per token row
    _matmul_model(tmp_path / "fp32.onnx", table.T)  # a (3, 5000) weight: one scale per output column
    quantize_weights_int8(tmp_path / "fp32.onnx", tmp_path / "wide.onnx", min_size=1)
    wide = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(tmp_path / "wide.onnx")).graph.initializer}
    assert wide["w.scale"].shape == (5000,)
    _matmul_model(tmp_path / "tall.onnx", table)
    quantize_weights_int8(tmp_path / "tall.onnx", tmp_path / "tall8.onnx", min_size=1)
    tall = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(tmp_path / "tall8.onnx")).graph.initializer}
    assert tall["w.scale"].shape == (5000,)
    assert np.allclose(tall["w.scale"], np.abs(table).max(axis=1) / 127, rtol=1e-6)
    err = np.abs(tall["w.int8"] * tall["w.scale"][:, None] - table)
    assert err.max() <= tall["w.scale"].max() / 2 + 1e-7  # rounding error at most half a step
    quantize_weights_int8(tmp_path / "tall.onnx", tmp_path / "kept.onnx", min_size=10**6)
    kept = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(tmp_path / "kept.onnx")).graph.initializer}
    assert set(kept) == {"w"} and kept["w"].dtype == np.float32


def test_a_quantized_encoder_stays_close_to_float32(tmp_path):
    pytest.importorskip("torch")
    from tiny_models import make_onnx_model

    folder = make_onnx_model(tmp_path / "m")
    x = {"input_ids": np.array([[2, 5, 6, 7, 3]]), "attention_mask": np.ones((1, 5), np.int64),
         "token_type_ids": np.zeros((1, 5), np.int64)}
    opts = ort.SessionOptions()
    opts.add_session_config_entry("session.disable_quant_qdq", "1")
    fp32 = ort.InferenceSession(str(tmp_path / "m" / "_model.fp32.onnx")).run(None, x)[0]
    int8 = ort.InferenceSession(str(folder / "encoder" / "model.onnx"), opts).run(None, x)[0]
    stored = onnx.load(str(folder / "encoder" / "model.onnx")).graph.initializer
    assert any(i.data_type == TensorProto.INT8 for i in stored)
    cos = (fp32 * int8).sum(-1) / np.linalg.norm(fp32, axis=-1) / np.linalg.norm(int8, axis=-1)
    assert cos.min() > 0.999


def test_int8_products_scale_each_token_by_itself(tmp_path):
    _matmul_model(tmp_path / "fp32.onnx", np.array([[1.0, -2.0], [0.5, 4.0]]))
    quantize_int8(tmp_path / "fp32.onnx", tmp_path / "int8.onnx", min_size=1)
    graph = onnx.load(str(tmp_path / "int8.onnx")).graph
    assert "MatMulIntegerToFloat" in {n.op_type for n in graph.node}
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    assert inits["w.int8"].tolist() == [[127, -64], [64, 127]] and np.allclose(inits["w.scale"], [1 / 127, 4 / 127])
    # row [1, -0.25]: scale 1/127, codes [127, -32] (-31.75 rounded); with the weight codes
    #   column 0: 127*127 - 32*64 = 14081 -> 14081 / 127 * 1/127 = 0.87302   (float32: 0.875)
    #   column 1: -127*64 - 32*127 = -12192 -> -12192 / 127 * 4/127 = -3.02362 (float32: -3)
    # row [0, 2]: its own scale 2/127, codes [0, 127]
    #   column 0: 127*64 = 8128 -> 8128 * 2/127 * 1/127 = 1.00794; column 1: 127*127 -> 8.0
    x = np.array([[1.0, -0.25], [0.0, 2.0]], dtype=np.float32)
    y = _run(tmp_path / "int8.onnx", x)
    assert np.allclose(y, [[14081 / 127**2, -12192 * 4 / 127**2], [8128 * 2 / 127**2, 8.0]], atol=1e-5)
    assert np.array_equal(_run(tmp_path / "int8.onnx", x[:1]), y[:1])  # a row's result does not depend on others


def test_dequantized_weights_give_back_the_same_codes(tmp_path):
    rng = np.random.default_rng(1)
    _matmul_model(tmp_path / "fp32.onnx", rng.normal(size=(8, 6)))
    quantize_weights_int8(tmp_path / "fp32.onnx", tmp_path / "w8.onnx", min_size=1)
    dequantize_weights(tmp_path / "w8.onnx", tmp_path / "back.onnx")
    quantize_weights_int8(tmp_path / "back.onnx", tmp_path / "again.onnx", min_size=1)
    first, again = ({i.name: numpy_helper.to_array(i) for i in onnx.load(str(tmp_path / f)).graph.initializer}
                    for f in ("w8.onnx", "again.onnx"))
    assert np.array_equal(first["w.int8"], again["w.int8"]) and np.allclose(first["w.scale"], again["w.scale"])
    quantize_int8(tmp_path / "back.onnx", tmp_path / "products.onnx", min_size=1)
    with pytest.raises(ValueError, match="only weight-only"):
        dequantize_weights(tmp_path / "products.onnx", tmp_path / "x.onnx")
