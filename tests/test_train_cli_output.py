"""What ``affectkit train`` shows (issue 19): a progress bar per epoch, the scores at the end, and none of the
third-party noise (transformers' load reports and bars, the ONNX export's tracer warnings)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml

pytest.importorskip("torch")

from affectkit.cli import main
from affectkit.training.config import TaskSpec
from affectkit.training.quiet import third_party_quiet


def test_train_shows_progress_and_a_score_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from test_training import NO_SIF, _config, toy_rows
    from tiny_models import make_tiny_bert

    data = tmp_path / "toy.csv"
    pd.DataFrame(toy_rows(120)).to_csv(data, index=False)
    cfg = _config(data, make_tiny_bert(tmp_path / "bert"), encoder="static", static=NO_SIF, epochs=2)
    cfg["tasks"] = cfg["tasks"][:1]
    (tmp_path / "toy.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["train", "--config", str(tmp_path / "toy.yaml"), "-o", str(tmp_path / "m")]) == 0
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "epoch 2/2" in err and "step" in err  # the bars
    assert "Test (calibrated thresholds from dev):" in err and "- toy (toy test, 24 rows): macro_f1" in err
    assert "trained in" in err


def test_quiet_block_hides_export_warnings_and_transformers_logs() -> None:
    transformers = pytest.importorskip("transformers")
    hf_logging = transformers.utils.logging
    before = hf_logging.get_verbosity()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with third_party_quiet():
            warnings.warn("Converting a tensor to a Python boolean might cause the trace to be incorrect")
            warnings.warn("a warning of our own")
            assert hf_logging.get_verbosity() == logging.ERROR
            assert not hf_logging.is_progress_bar_enabled()
        warnings.warn("Converting a tensor to a Python boolean, after the block")
    assert [str(w.message) for w in caught] == ["a warning of our own",
                                                "Converting a tensor to a Python boolean, after the block"]
    assert hf_logging.get_verbosity() == before and hf_logging.is_progress_bar_enabled()


def test_a_file_dataset_without_a_label_set_names_its_head_after_the_file() -> None:
    assert TaskSpec(type="categories", dataset="data/my.tickets-v2.csv").head_name == "my_tickets_v2"
    assert TaskSpec(type="categories", dataset="goemotions").head_name == "goemotions"
    assert TaskSpec(type="categories", dataset="x.csv", labelset="ekman").head_name == "ekman"
