"""Ranking items by an affect attribute ("most distressed first"), and ranking metrics.

An attribute is one of:
- ``valence``, ``arousal``, ``dominance``, ``intensity``;
- a composite of the VAD dimensions (see :data:`COMPOSITES`), e.g. ``distress``;
- a label of the output label set (its probability), or several joined by ``+`` (their summed probability);
- ``score:NAME``, a trained score head of the model (e.g. a RankNet head);
- any of the above prefixed with ``-`` to rank ascending instead of descending.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from affectkit.analyzers.base import DEFAULT_BATCH_SIZE
from affectkit.reports import JobReport
from affectkit.schema import BatchPrediction
from affectkit.vad import CANONICAL, DIMENSIONS, convert

SCALAR_ATTRIBUTES = (*DIMENSIONS, "intensity")


@dataclass(frozen=True)
class Composite:
    """A named direction in VAD space: score = sum_d weight_d * x_d on the -1..1 scale."""

    name: str
    weights: dict[str, float]
    source: str


_R2 = 1 / math.sqrt(2)
# Watson and Tellegen (1985), "Toward a consensual structure of mood": the two main mood factors, Negative and
# Positive Affect, are the pleasantness / engagement (valence / arousal) axes rotated by 45 degrees. High Negative
# Affect is unpleasant and activated ("distressed, fearful, hostile, jittery, nervous"); in Russell's (1980)
# circumplex "distressed" sits in that same quadrant. So distress = (arousal - valence) / sqrt 2 (our choice of
# operationalisation; it needs an analyzer that gives VAD).
COMPOSITES = {c.name: c for c in [
    Composite("distress", {"valence": -_R2, "arousal": _R2},
              "Watson and Tellegen 1985, high Negative Affect: unpleasant + activated (the circumplex diagonal)"),
    Composite("negative-affect", {"valence": -_R2, "arousal": _R2}, "Watson and Tellegen 1985 (= distress)"),
    Composite("positive-affect", {"valence": _R2, "arousal": _R2},
              "Watson and Tellegen 1985, high Positive Affect: pleasant + activated (enthusiastic, excited)"),
    Composite("calm", {"valence": _R2, "arousal": -_R2},
              "Russell 1980 circumplex: pleasant + deactivated (relaxed, calm, serene)"),
    Composite("depression", {"valence": -_R2, "arousal": -_R2},
              "Russell 1980 circumplex: unpleasant + deactivated (sad, depressed, bored)"),
]}


def parse_attribute(attribute: str) -> tuple[str, bool]:
    """``"-valence"`` -> ``("valence", True)`` (ascending)."""
    attribute = attribute.strip()
    if attribute.startswith("-"):
        return attribute[1:].strip(), True
    return attribute.lstrip("+").strip(), False


def attribute_scores(batch: BatchPrediction, attribute: str) -> np.ndarray:
    """Per-row score of ``attribute`` (higher = ranked first unless the attribute starts with ``-``).
    Rows that failed get NaN."""
    name, ascending = parse_attribute(attribute)
    if name in COMPOSITES:
        if batch.vad is None:
            raise ValueError(f"{name} is defined on valence and arousal ({COMPOSITES[name].source}); this analyzer "
                             "gives no VAD: rank by labels instead, e.g. fear+nervousness+sadness")
        vad = convert(batch.vad.astype(np.float64), batch.vad_scale, CANONICAL)
        s = sum(w * vad[:, DIMENSIONS.index(d)] for d, w in COMPOSITES[name].weights.items())
    elif name in DIMENSIONS:
        if batch.vad is None:
            raise ValueError(f"this analyzer gives no {name}")
        s = batch.vad[:, DIMENSIONS.index(name)].astype(np.float64)
    elif name == "intensity":
        if batch.intensity is None:
            raise ValueError("this analyzer gives no intensity")
        s = batch.intensity.astype(np.float64)
    elif name.startswith("score:"):
        key = "score_" + name.split(":", 1)[1]
        if key not in batch.extra:
            raise ValueError(f"the model has no score head {name.split(':', 1)[1]!r}")
        s = np.array(batch.extra[key], dtype=np.float64)
    else:
        labels = [p.strip() for p in name.split("+")]
        missing = [lab for lab in labels if lab not in batch.labelset]
        if missing:
            raise ValueError(f"unknown attribute {name!r}: {missing} not in label set {batch.labelset.name} "
                             f"(use valence, arousal, dominance, intensity, {', '.join(COMPOSITES)}, score:NAME "
                             f"or labels of "
                             f"{batch.labelset.name}: {', '.join(batch.labelset.labels)})")
        s = batch.dist[:, [batch.labelset.index(lab) for lab in labels]].sum(axis=1)
    return -s if ascending else s


def sort_keys(scores: np.ndarray) -> np.ndarray:
    """The keys rows are ranked by (highest first): the scores, with NaN (no score) as -inf."""
    return np.where(np.isnan(scores), -np.inf, scores)


def rank_order(scores: np.ndarray) -> np.ndarray:
    """Indices from highest to lowest score; NaN last; ties keep input order."""
    return np.argsort(-sort_keys(scores), kind="stable")


# -- the rank job ----------------------------------------------------------------------------------------------------
@dataclass
class RankOptions:
    """What ``affectkit rank`` ranks by and writes (:func:`run_rank`'s keyword arguments)."""

    attribute: str
    text_col: str = "text"
    labels: str | None = None
    top: int | None = None
    share: float | None = None
    columns: list[str] | None = None
    prefix: str = ""
    batch_size: int = DEFAULT_BATCH_SIZE
    memory_rows: int = 1_000_000

    def output_columns(self) -> dict[str, str]:
        """The names of the rank, score and error columns."""
        return {"rank": self.prefix + "rank", "score": self.prefix + "score", "error": self.prefix + "error"}


@dataclass
class RankReport(JobReport):
    """What ``rank`` did: :class:`~affectkit.reports.JobReport` plus the rows written (the top of the queue) and
    whether the selection was sorted on disk."""

    written: int = 0
    external: bool = False


def load_for_ranking(model: str):
    """``affectkit.load(model)``; an affectkit model without evidence spans (ranking needs scores, not the words
    behind them)."""
    import affectkit
    from affectkit.model import AffectModel

    analyzer = affectkit.load(model)
    if isinstance(analyzer, AffectModel):
        analyzer.evidence = False
    return analyzer


def cut_size(n: int, top: int | None = None, share: float | None = None) -> int:
    """How many ranked rows to keep: ``top`` k, or the first ``share`` of the queue (rounded up), or all."""
    if top is not None and share is not None:
        raise ValueError("give --top or --share, not both")
    if top is not None:
        if top < 1:
            raise ValueError("--top must be at least 1")
        return min(top, n)
    if share is not None:
        if not 0 < share <= 1:
            raise ValueError("--share must be in (0, 1]")
        return min(n, math.ceil(share * n - 1e-9))
    return n


def run_rank(input_path: str, output: str | None, analyzer, attribute: str, *, text_col: str = "text",
             labels: str | None = None, top: int | None = None, share: float | None = None,
             columns: list[str] | None = None, prefix: str = "", fmt: str | None = None,
             output_format: str | None = None, chunk_size: int = 1024, batch_size: int = DEFAULT_BATCH_SIZE,
             memory_rows: int = 1_000_000, progress: bool = True, sort_key: str | None = None) -> RankReport:
    """Score every row of a file by ``attribute``, order the rows and write the top of the queue.

    Memory: pass 1 (:func:`_score_pass`) streams the input chunk by chunk through the model and keeps only one
    float per row (the score). The order is then known, so pass 2 (:class:`_RankedRows`) re-reads the input and
    keeps only the selected rows with the wanted ``columns``; when more than ``memory_rows`` rows are selected they
    are spilled to temporary files by rank range (a bucket sort: each row's final position is already known) and
    written bucket by bucket. Input from stdin is spooled to a temporary file first, so that it can be read twice.
    """
    import shutil
    import tempfile
    import time

    from affectkit.runner import AnalyzeOptions
    from affectkit.tabular import check_input, check_output, read_chunks

    t0 = time.time()
    report = RankReport(output=str(output) if output else None)
    tmp = Path(tempfile.mkdtemp(prefix="affectkit-rank-"))
    try:
        input_path, fmt = _spool_stdin(input_path, fmt, tmp)
        fmt = check_input(input_path, fmt)
        check_output(input_path, output)
        options = AnalyzeOptions(text_col=text_col, labels=labels, batch_size=batch_size)
        all_scores, failures = _score_pass(input_path, fmt, analyzer, attribute, options, chunk_size, progress)
        report.errors = len(failures)
        n = report.rows = report.analysed = len(all_scores)
        k = cut_size(n, top, share)
        rank_of = np.zeros(n, dtype=np.int64)
        rank_of[rank_order(all_scores)[:k]] = np.arange(1, k + 1)
        names = RankOptions(attribute, prefix=prefix).output_columns()
        rows = _RankedRows(tmp, memory_rows if k > memory_rows else None, names["rank"])
        keys = sort_keys(all_scores) if sort_key else None
        for chunk in read_chunks(input_path, fmt, chunk_size, text_col):  # pass 2
            local = np.flatnonzero(rank_of[chunk.start : chunk.start + len(chunk)] > 0)
            if len(local):
                rows.add(_selected_rows(chunk.frame, chunk.start, local, columns, names, rank_of, all_scores,
                                        failures, sort_key, keys))
        report.external = rows.external
        report.written = write_ranked(rows.ranked(), output, output_format, attribute, names,
                                      (sort_key,) if sort_key else ())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report.seconds = time.time() - t0
    return report


def _spool_stdin(input_path: str, fmt: str | None, tmp: Path) -> tuple[str, str | None]:
    """Standard input copied to a file in ``tmp`` (ranking reads its input twice); other inputs as they are."""
    if str(input_path) != "-":
        return input_path, fmt
    import shutil
    import sys

    from affectkit.tabular import detect_format

    fmt = detect_format("-", fmt)
    spooled = tmp / f"stdin.{fmt}"
    with open(spooled, "wb") as f:
        shutil.copyfileobj(sys.stdin.buffer, f)
    return str(spooled), fmt


def _score_pass(input_path: str, fmt: str, analyzer, attribute: str, options, chunk_size: int,
                progress: bool) -> tuple[np.ndarray, dict[int, str]]:
    """Pass 1: one score per row (NaN where a row failed) and, for the rows that failed, why."""
    from affectkit.errors import InputError
    from affectkit.progress import progress_bar
    from affectkit.runner import predict_frame
    from affectkit.tabular import read_chunks

    scores: list[np.ndarray] = []
    failures: dict[int, str] = {}  # row -> why it has no score (few, normally)
    bar = progress_bar(None, "row", progress)
    try:
        for chunk in read_chunks(input_path, fmt, chunk_size, options.text_col):
            batch = predict_frame(chunk.frame, analyzer, options, chunk.errors)
            try:
                scores.append(attribute_scores(batch, attribute))
            except ValueError as e:
                raise InputError(str(e)) from None
            failures.update({chunk.start + i: e for i, e in enumerate(batch.errors) if e})
            bar.update(len(chunk))
    finally:
        bar.close()
    return (np.concatenate(scores) if scores else np.zeros(0)), failures


def _selected_rows(frame, start: int, local: np.ndarray, columns: list[str] | None, names: dict[str, str],
                   rank_of: np.ndarray, scores: np.ndarray, failures: dict[int, str], sort_key: str | None,
                   keys: np.ndarray | None):
    """Rows ``local`` of a chunk that starts at row ``start``, with their rank, score and error columns (and the
    sort key when asked)."""
    from affectkit.errors import InputError

    rows = start + local
    if columns:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise InputError(f"--columns {missing} not found; columns are: {', '.join(map(repr, frame.columns))}")
        frame = frame[columns]
    clash = [c for c in names.values() if c in frame.columns]
    if clash:
        raise InputError(f"output columns {clash} already exist in the input; pass --prefix (e.g. --prefix ak_)")
    piece = frame.iloc[local].reset_index(drop=True).copy()
    piece[names["rank"]] = rank_of[rows]
    piece[names["score"]] = np.round(scores[rows], 6)
    piece[names["error"]] = [failures.get(int(i)) or (None if np.isfinite(scores[i]) else "no score") for i in rows]
    if keys is not None and sort_key:
        piece[sort_key] = [repr(float(v)) for v in keys[rows]]
    return piece


class _RankedRows:
    """Selected rows held for writing in rank order: in memory, or (``bucket_rows`` set) in rank-range buckets of
    ``bucket_rows`` that spill to temporary files in ``tmp`` when more than ``bucket_rows`` rows are held. The
    spill files are this process's own frames in its private temporary folder (never user input), written and
    read with pandas' pickle, which keeps every column's dtype exactly."""

    def __init__(self, tmp: Path, bucket_rows: int | None, rank_col: str) -> None:
        self.tmp, self.bucket_rows, self.rank_col = tmp, bucket_rows, rank_col
        self.external = bucket_rows is not None
        self.buckets: dict[int, list] = {}
        self.spilled: dict[int, list] = {}

    def add(self, piece) -> None:
        if self.bucket_rows is None:
            self.buckets.setdefault(0, []).append(piece)
            return
        for b, part in piece.groupby((piece[self.rank_col] - 1) // self.bucket_rows):
            self.buckets.setdefault(int(b), []).append(part)
        while sum(len(p) for parts in self.buckets.values() for p in parts) > self.bucket_rows:
            b = max(self.buckets, key=lambda key: sum(len(p) for p in self.buckets[key]))  # spill the largest
            path = self.tmp / f"bucket-{b:06d}-{len(self.spilled.get(b, [])):06d}.pkl"
            import pandas as pd

            pd.concat(self.buckets.pop(b)).to_pickle(path)
            self.spilled.setdefault(b, []).append(path)

    def ranked(self):
        import pandas as pd

        for b in sorted(set(self.buckets) | set(self.spilled)):
            frames = [pd.read_pickle(p) for p in self.spilled.get(b, [])] + self.buckets.get(b, [])
            yield pd.concat(frames, ignore_index=True).sort_values(self.rank_col, kind="stable")


def write_ranked(blocks, output: str | None, output_format: str | None, attribute: str, names: dict[str, str],
                 extra_columns: tuple[str, ...] = ()) -> int:
    """Write ranked frames (consecutive rank ranges, in order) to ``output`` (``None`` or ``-``: JSONL on stdout),
    each block as one atomic part, assembled at the end; with no rows, a file with only the rank, score and error
    columns ``names`` (and ``extra_columns``). Returns the number of rows written."""
    import pandas as pd

    from affectkit.tabular import PartWriter, write_frame

    to_file = output is not None and str(output) != "-"
    writer = PartWriter(str(output), output_format, {"rank": attribute}, resume=False) if to_file else None
    written = 0
    try:
        for index, ranked in enumerate(blocks):
            # no error is None, never NaN: blocks concatenated from spilled pieces can turn it into NaN, which would
            # make the column a float in one Parquet part and a string in the next
            ranked[names["error"]] = ranked[names["error"]].astype(object).where(ranked[names["error"]].notna(),
                                                                                 None)
            written += len(ranked)
            if writer is None:
                write_frame(ranked, None)
            else:
                writer.write(index, ranked)
        if writer is not None:
            if written == 0:
                writer.write(0, pd.DataFrame(columns=[*names.values(), *extra_columns]))
            writer.finish()
    finally:
        if writer is not None:
            writer.close()  # the output's lock
    return written
