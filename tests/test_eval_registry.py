"""The metric registry: names parse once, with their number, direction and the task kinds that accept them."""

from __future__ import annotations

import pytest

from affectkit.errors import InputError
from affectkit.evaluation.registry import METRICS, higher_is_better, metrics_for, parse_metric
from affectkit.evaluation.task import DEFAULT_HEADLINE, DEFAULT_METRICS


def test_names_parse_with_their_number():
    assert parse_metric("ndcg@10").k == 10 and parse_metric("ndcg@10").base == "ndcg"
    assert parse_metric("recall@2.5%").k == 2.5 and parse_metric("recall@2.5%").base == "recall"
    assert parse_metric("top3_accuracy").k == 3
    assert parse_metric("kendall").k is None


def test_direction():
    assert higher_is_better("macro_f1") and higher_is_better("ccc")
    assert not higher_is_better("rmse") and not higher_is_better("mae") and not higher_is_better("ece")


def test_kind_check():
    assert parse_metric("jaccard", "perception/multi-label").spec.pattern == "jaccard"
    with pytest.raises(InputError, match="does not apply to perception/single-label"):
        parse_metric("jaccard", "perception/single-label")
    with pytest.raises(InputError):
        parse_metric("ndcg@ten")


def test_every_default_metric_and_headline_is_registered_for_its_kind():
    for kind, names in DEFAULT_METRICS.items():
        for name in names:
            parse_metric(name, kind)
        assert DEFAULT_HEADLINE[kind] in names
        assert metrics_for(kind)
    assert len({m.pattern for m in METRICS}) == len(METRICS)
