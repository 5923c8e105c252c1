"""The package's shared helpers: one content digest and one JSON sanitiser, checked against hand-computed values."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from affectkit.hashing import digest_file, digest_files, digest_folder, digest_json, digest_text, digest_texts
from affectkit.jsonable import json_default, to_jsonable

ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # SHA-256("abc"), FIPS 180-2 example


def test_digest_text_is_sha256_of_utf8():
    assert digest_text("abc") == ABC
    assert digest_text("abc", 8) == ABC[:8]
    assert digest_text("\ud800")  # a lone surrogate still has a digest


def test_digest_json_is_canonical():
    assert digest_json({"b": 1, "a": [1, 2]}) == digest_json({"a": [1, 2], "b": 1})
    assert digest_json({"a": "é"}) == hashlib.sha256('{"a": "é"}'.encode()).hexdigest()


def test_digest_texts_separates_items():
    assert digest_texts(["a", "b"]) != digest_texts(["ab"])
    assert digest_texts(["a", "b"]) == hashlib.sha256(b"a\0b\0").hexdigest()


def test_digest_file_and_folder(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "x.txt").write_bytes(b"abc")
    (tmp_path / "sub" / "y.json").write_bytes(b"{}")
    assert digest_file(tmp_path / "x.txt") == (ABC, 3)
    expected = hashlib.sha256(b"sub/y.json{}x.txtabc").hexdigest()
    assert digest_folder(tmp_path) == expected
    assert digest_folder(tmp_path, (".txt",)) == hashlib.sha256(b"x.txtabc").hexdigest()
    assert digest_files([tmp_path / "x.txt"]) == hashlib.sha256(b"x.txtabc").hexdigest()


def test_to_jsonable_gives_strict_json():
    value = {1: np.float32(0.5), "nan": float("nan"), "inf": np.float64(math.inf), "arr": np.array([1, 2]),
             "t": (np.int64(3), None), "path": Path("a/b"), "na": pd.NA, "nat": pd.NaT,
             "ts": pd.Timestamp("2024-01-02T03:04:05"), "dt": datetime(2024, 1, 2)}
    out = to_jsonable(value)
    assert out == {"1": 0.5, "nan": None, "inf": None, "arr": [1, 2], "t": [3, None], "path": "a/b", "na": None,
                   "nat": None, "ts": "2024-01-02T03:04:05", "dt": "2024-01-02T00:00:00"}
    json.dumps(out, allow_nan=False)


def test_json_default_refuses_unknown_types():
    assert json.dumps({"x": np.int8(4)}, default=json_default) == '{"x": 4}'
    with pytest.raises(TypeError):
        json.dumps({"x": object()}, default=json_default)
