"""Memory-saving rewrites give the same numbers."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def test_rows_are_gathered_before_they_are_dequantized(tmp_path):
    from onnx import TensorProto, helper, numpy_helper

    from affectkit.training.quantize import gather_before_dequantize

    codes = np.array([[127, -64, 3], [1, 2, -127], [0, 50, 100]], np.int8)
    scale = np.array([0.5, 0.25, 0.125], np.float32)  # one per row (token)
    graph = helper.make_graph(
        [helper.make_node("DequantizeLinear", ["t.int8", "t.scale"], ["t"], axis=0),
         helper.make_node("Gather", ["t", "ids"], ["rows"], axis=0)],
        "g", [helper.make_tensor_value_info("ids", TensorProto.INT64, [None, None])],
        [helper.make_tensor_value_info("rows", TensorProto.FLOAT, [None, None, 3])],
        [numpy_helper.from_array(codes, "t.int8"), numpy_helper.from_array(scale, "t.scale")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    ids = np.array([[2, 0], [1, 1]], np.int64)
    before = ort.InferenceSession(model.SerializeToString()).run(None, {"ids": ids})[0]
    assert gather_before_dequantize(model) == 1
    assert "DequantizeLinear" not in {n.op_type for n in model.graph.node}
    after = ort.InferenceSession(model.SerializeToString()).run(None, {"ids": ids})[0]
    assert np.array_equal(before, after)
    assert after[0, 0].tolist() == [0.0, 6.25, 12.5]  # row 2: codes [0, 50, 100] times 0.125
