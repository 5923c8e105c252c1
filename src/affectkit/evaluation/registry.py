"""The metric registry: every metric a task may name, declared once as data (in the manner of lm-evaluation-harness,
where each metric states its aggregation and whether higher is better).

A metric name is a pattern with at most one number: ``ndcg@{k}``, ``top{k}_accuracy``, ``recall@{k}%``. Task
validation, scoring and reports all read names through :func:`parse_metric`, so no other module parses them.
The formulas themselves are in :mod:`affectkit.evaluation.metrics` (docs/methods.md §2-3 cites their papers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from affectkit.errors import InputError


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its name pattern, direction, what it consumes and how per-unit values aggregate."""

    pattern: str
    higher_is_better: bool
    consumes: str  # what the metric reads from a prediction
    aggregation: str  # how it summarises the scored units (always with a bootstrap interval over the units)
    kinds: tuple[str, ...]  # the task kinds (type or type/mode) that accept it

    def regex(self) -> re.Pattern[str]:
        return re.compile("^" + re.escape(self.pattern).replace(r"\{k\}", r"(\d+(?:\.\d+)?)") + "$")


@dataclass(frozen=True)
class MetricName:
    """A parsed metric name: the spec it matched, its number (``k``) if it has one, and its base (``ndcg``)."""

    name: str
    spec: MetricSpec
    k: float | None

    @property
    def base(self) -> str:
        return re.split(r"[@{]", self.spec.pattern)[0] if "@" in self.spec.pattern else self.spec.pattern

    @property
    def higher_is_better(self) -> bool:
        return self.spec.higher_is_better


SINGLE = "perception/single-label"
MULTI = "perception/multi-label"
CHOICE = "perception/multiple-choice"
PERCEPTION = (SINGLE, MULTI)

METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("accuracy", True, "top label", "mean over rows", (SINGLE, CHOICE, "pairwise")),
    MetricSpec("macro_f1", True, "label decisions", "F1 per label, unweighted mean", PERCEPTION),
    MetricSpec("macro_recall", True, "top label", "recall per gold label, unweighted mean (UAR)", (SINGLE,)),
    MetricSpec("micro_f1", True, "label decisions", "F1 of pooled counts", PERCEPTION),
    MetricSpec("weighted_f1", True, "label decisions", "F1 per label, mean weighted by support", PERCEPTION),
    MetricSpec("jaccard", True, "label decisions", "mean over rows of |G∩P| / |G∪P|", (MULTI,)),
    MetricSpec("exact_match", True, "label decisions", "mean over rows", (MULTI,)),
    MetricSpec("top{k}_accuracy", True, "distribution", "mean over rows", PERCEPTION),
    MetricSpec("best{k}_accuracy", True, "distribution", "mean over rows", PERCEPTION),
    MetricSpec("ece", False, "distribution", "binned |accuracy - confidence|, weighted by bin size", PERCEPTION),
    MetricSpec("top1_accuracy", True, "ranked emotions", "mean over rows", ("emotion_ranking",)),
    MetricSpec("overlap@{k}", True, "ranked emotions", "mean over rows", ("emotion_ranking",)),
    MetricSpec("kendall", True, "ranked emotions or scalar scores", "tau-b per list, mean over lists",
               ("emotion_ranking", "item_ranking", "assessment")),
    MetricSpec("ndcg@{k}", True, "ranked emotions or scalar scores", "mean over rows or lists",
               ("emotion_ranking", "item_ranking")),
    MetricSpec("spearman", True, "scalar scores", "rank correlation over items", ("item_ranking", "assessment")),
    MetricSpec("ranking_accuracy", True, "scalar scores", "share of pairs ordered right", ("item_ranking",)),
    MetricSpec("recall@{k}%", True, "scalar scores", "share of relevant items in the top k% of the queue",
               ("item_ranking",)),
    MetricSpec("pearson", True, "scalar scores", "linear correlation over items", ("assessment",)),
    MetricSpec("ccc", True, "scalar scores", "concordance correlation over items", ("assessment",)),
    MetricSpec("rmse", False, "scalar scores", "root mean squared error over items", ("assessment",)),
    MetricSpec("mae", False, "scalar scores", "mean absolute error over items", ("assessment",)),
    MetricSpec("wheel_f", True, "emotion words", "F of the mean precision and recall", ("description",)),
    MetricSpec("wheel_precision", True, "emotion words", "mean over rows", ("description",)),
    MetricSpec("wheel_recall", True, "emotion words", "mean over rows", ("description",)),
    MetricSpec("bleu2", True, "cause text", "sentence BLEU-2, mean over rows", ("cause",)),
    MetricSpec("corpus_bleu2", True, "cause text", "corpus BLEU-2", ("cause",)),
)


def metrics_for(kind: str) -> tuple[MetricSpec, ...]:
    """The metrics a task kind accepts, in registry order."""
    return tuple(m for m in METRICS if kind in m.kinds)


def parse_metric(name: str, kind: str | None = None) -> MetricName:
    """Parse ``name`` against the registry (and check it applies to ``kind`` when given); ``InputError`` if not."""
    for spec in metrics_for(kind) if kind is not None else METRICS:
        m = spec.regex().match(name)
        if m:
            return MetricName(name, spec, float(m.group(1)) if m.groups() else None)
    allowed = ", ".join(s.pattern for s in (metrics_for(kind) if kind is not None else METRICS))
    where = f" to {kind} tasks" if kind is not None else ""
    raise InputError(f"metric {name!r} does not apply{where}; use one of: {allowed}")


def higher_is_better(name: str) -> bool:
    """Whether a larger value of metric ``name`` is better (``rmse``, ``mae`` and ``ece`` are not)."""
    return parse_metric(name).higher_is_better
