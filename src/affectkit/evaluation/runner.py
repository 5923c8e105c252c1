"""The evaluation job: every model on every task, with cached, resumable predictions and separate scoring.

    OUT/
      results.json                      every figure, with its confidence interval, per model x task
      leaderboard.md, leaderboard.html  the comparison tables (per-label tables, confusion matrices, intervals)
      predictions/MODEL/TASK.jsonl      per-sample gold, prediction and score
      plots/MODEL__TASK.png             confusion matrices
      cache/MODEL/...jsonl              raw prediction records, one part file per chunk while running

Predictions are computed chunk by chunk with :func:`affectkit.evaluation.predict.predict_chunk` and written as
atomic part files (:class:`affectkit.tabular.PartWriter`), so an interrupted run resumes where it stopped; tasks
over the same rows and label set share one set of predictions per model.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from affectkit.analyzers.base import DEFAULT_BATCH_SIZE, Analyzer
from affectkit.datasets import EmotionDataset
from affectkit.errors import AffectkitError
from affectkit.evaluation.predict import (
    RECORD_VERSION,
    LabelPlan,
    PredictionArrays,
    Unsupported,
    analyzer_reads,
    plan_labels,
    predict_chunk,
)
from affectkit.evaluation.scoring import Scored, score_task
from affectkit.evaluation.task import Task, TaskData, load_dataset_for, task_data
from affectkit.hashing import digest_json, digest_text
from affectkit.jsonable import to_jsonable
from affectkit.tabular import PartWriter
from affectkit.tabular.writers import fingerprint_file

log = logging.getLogger(__name__)


@dataclass
class ModelSpec:
    """A model to evaluate: an ``affectkit.load`` spec or an analyzer object. A ``baseline`` that cannot be
    loaded is skipped with its reason; any other model that cannot be loaded fails the job."""

    spec: "str | Analyzer"
    baseline: bool = False
    label: str | None = None

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        return self.spec if isinstance(self.spec, str) else self.spec.name


@dataclass
class EvalOptions:
    n_boot: int = 1000
    seed: int = 0
    resume: bool = True
    progress: bool = True
    chunk_size: int = 1024
    batch_size: int = DEFAULT_BATCH_SIZE
    limit: int | None = None


@dataclass
class EvalRun:
    """What :func:`evaluate` produced (also written to ``results.json``)."""

    results: list[dict[str, Any]] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    out_dir: Path | None = None

    def to_dict(self, options: EvalOptions) -> dict[str, Any]:
        from affectkit import __version__

        return {"affectkit_version": __version__, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "command": " ".join(sys.argv) if sys.argv else None,
                "bootstrap": {"resamples": options.n_boot, "seed": options.seed, "level": 0.95},
                "models": self.models, "tasks": self.tasks, "results": self.results}


def slug(text: str) -> str:
    """A file-name-safe form of a model spec or task name, unique per name: a name that had to be changed
    (characters replaced, or cut to 80) gets a short hash of the original, so that two specs that differ only
    in their tail (``llm:m@url?x`` and ``llm:m@url?x&mode=hybrid``) never share a file."""
    text = str(text)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "model"
    if safe == text and len(safe) <= 80:
        return safe
    return f"{safe[:71]}-{digest_text(text, 8)}"


def _model_fingerprint(spec: str, analyzer: Analyzer) -> list[Any]:
    """Size/mtime/hash of the files behind a model (its folder, lexicon files), so a changed model is noticed."""
    paths: list[Path] = []
    info_path = analyzer.info().get("path")
    if info_path:
        paths.append(Path(info_path))
    _, sep, arg = spec.partition(":")
    if sep:
        paths.extend(Path(a) for a in arg.split(",") if a and Path(a).exists())
    out: list[Any] = []
    for p in paths:
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        out.extend({"file": str(f), "size": f.stat().st_size, "mtime_ns": f.stat().st_mtime_ns} if p.is_dir()
                   else fingerprint_file(f) for f in files)
    return out


def load_for_evaluation(spec: "str | Analyzer") -> Analyzer:
    """``affectkit.load(spec)``; affectkit model folders are loaded without evidence spans, which no task
    scores and which cost about a fifth of the model's time."""
    import affectkit
    from affectkit.analyzers import shipped_models
    from affectkit.model import CONFIG_FILE

    if isinstance(spec, str) and (spec in shipped_models() or (Path(spec) / CONFIG_FILE).is_file()):
        return affectkit.load(spec, evidence=False)
    if isinstance(spec, str) and spec != "default" and not Path(spec).exists():
        from affectkit.media.cli import media_model

        spec = media_model(spec)  # the short names of `affectkit analyze`: face, scene, speech, video, media
    return affectkit.load(spec)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class _Progress:
    def __init__(self, total: int, enabled: bool) -> None:
        from affectkit.progress import progress_bar

        self.bar = progress_bar(total, "text", enabled, "eval")

    def update(self, n: int, what: str | None = None) -> None:
        if what:
            self.bar.set_postfix_str(what, refresh=False)
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()


def cached_predictions(analyzer: Analyzer, model_key: str, plan: LabelPlan, texts: Sequence[Any], cache_dir: Path,
                       identity: dict[str, Any], options: EvalOptions, progress: _Progress | None = None,
                       context: "tuple[Any, EmotionDataset] | None" = None,
                       ) -> tuple[list[dict[str, Any]], float | None]:
    """Prediction records for ``texts``, from the cache when a finished run with the same identity exists,
    else computed chunk by chunk into resumable part files. Returns (records, seconds computing or None).
    With ``context`` (a task's :class:`~affectkit.context.ContextOptions` and its dataset), every row is
    predicted with its previous turns, in one part (a conversation needs its earlier turns)."""
    ident_hash = digest_json(identity, 16)
    path = cache_dir / slug(model_key) / f"{ident_hash}.jsonl"
    meta = path.with_suffix(".json")
    n = len(texts)
    if options.resume and path.exists() and meta.exists():
        if json.loads(meta.read_text()).get("identity") == json.loads(json.dumps(identity, default=str)):
            if progress:
                progress.update(n)
            return read_jsonl(path), None
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = PartWriter(path, "jsonl", json.loads(json.dumps(identity, default=str)), resume=options.resume)
    t0 = time.time()
    computed = 0
    if context is not None and n:
        from affectkit.evaluation.predict import predict_dataset

        if not writer.has(0):
            writer.write(0, pd.DataFrame.from_records(predict_dataset(analyzer, context[1], plan, context[0],
                                                                      options.batch_size)))
            computed = n
        if progress:
            progress.update(n)
    for ci, start in enumerate(range(0, n if context is None else 0, options.chunk_size)):
        chunk = list(texts[start : start + options.chunk_size])
        if writer.has(ci):
            if progress:
                progress.update(len(chunk))
            continue
        records = predict_chunk(analyzer, chunk, plan=plan, batch_size=options.batch_size)
        writer.write(ci, pd.DataFrame.from_records(records))
        computed += len(chunk)
        if progress:
            progress.update(len(chunk))
    if n == 0:
        path.write_text("")
    else:
        writer.finish()
    meta.write_text(json.dumps({"identity": identity}, default=str, indent=1))
    return read_jsonl(path), (time.time() - t0) if computed else None


def mapping_report(plan: LabelPlan, preds: PredictionArrays, data: TaskData) -> dict[str, Any] | None:
    """How the model's labels reached the task's: the route and citations, model labels with no counterpart
    (and how many rows had one as their top label, and the probability mass dropped), and task labels no model
    label reaches (and how many gold rows carry one)."""
    if not plan.hops:
        return None
    rep = plan.describe()
    unmapped = set(rep["unmapped_model_labels"])
    rep["rows_with_unmapped_top_label"] = sum(1 for t in preds.native_top if t in unmapped)
    kept = preds.kept_mass[~preds.failed]
    rep["mean_probability_dropped"] = round(float(1 - kept.mean()), 6) if len(kept) else None
    unreachable = rep["unreachable_task_labels"]
    ds = data.dataset
    if unreachable and ds.categories is not None and ds.labelset == plan.output:
        cols = [ds.labelset.index(lab) for lab in unreachable]
        rep["gold_rows_with_unreachable_label"] = int(ds.label_sets()[:, cols].any(axis=1).sum())
    return rep


def _sample_rows(task: Task, data: TaskData, preds: PredictionArrays, scored: Scored) -> list[dict[str, Any]]:
    ds = data.dataset
    ids = ds.meta.get("id")
    if task.type == "pairwise":
        return [{**s, "text_a": ds.texts[s["a"]], "text_b": ds.texts[s["b"]]} for s in scored.samples]
    rows = []
    for i, s in enumerate(scored.samples):
        row: dict[str, Any] = {"row": i}
        if ids is not None:
            row["id"] = ids[i]
        row["text"] = ds.texts[i]
        row.update(s)
        row["error"] = preds.errors[i]
        rows.append(row)
    return rows


def write_jsonl(rows: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(to_jsonable(r), ensure_ascii=False, allow_nan=False) + "\n")
    tmp.replace(path)


def _headline(task: Task, scored: Scored) -> dict[str, Any]:
    m = scored.metrics.get(task.headline, {"value": None, "ci": None})
    return {"metric": task.headline, "value": m["value"], "ci": m["ci"]}


Prepared = tuple[Task, "TaskData | None", "str | None"]  # a task, its data, or why it has none


@dataclass
class Pair:
    """One model on one task, ready to predict and score: the label plan, and the identity of its predictions
    (what the prediction cache, and the distributed engine's manifest, check before reusing them)."""

    task: Task
    data: TaskData
    plan: LabelPlan
    identity: dict[str, Any]
    result: dict[str, Any]  # model, task, type: the start of the result entry


def prepare_tasks(tasks: Sequence[Task], options: EvalOptions, run: EvalRun) -> list[Prepared]:
    """Load each task's data (once per dataset spec; ``options.limit`` applied), recording every task in
    ``run.tasks``. A task whose data cannot be loaded is kept with the reason."""
    datasets: dict[str, EmotionDataset | Exception] = {}
    prepared: list[Prepared] = []
    for task in tasks:
        if options.limit is not None and (task.dataset.sample is None or task.dataset.sample > options.limit):
            task = replace(task, dataset=replace(task.dataset, sample=options.limit))
        key = task.dataset.key()
        if key not in datasets:
            try:
                datasets[key] = load_dataset_for(task.dataset)
            except (AffectkitError, OSError) as e:
                datasets[key] = e
        ds = datasets[key]
        if isinstance(ds, Exception):
            prepared.append((task, None, f"data not available: {ds}"))
            run.tasks.append({**task.to_dict(), "status": "skipped", "reason": str(ds)})
            continue
        try:
            data = task_data(task, ds)
        except AffectkitError as e:
            prepared.append((task, None, str(e)))
            run.tasks.append({**task.to_dict(), "status": "skipped", "reason": str(e)})
            continue
        prepared.append((task, data, None))
        run.tasks.append({**task.to_dict(), "status": "ok", "rows": len(data.dataset),
                          "dataset_sha256": ds.fingerprint(), "license": ds.license,
                          "gold_mapping": data.gold_mapping_report()})
    return prepared


def load_model_entry(entry: ModelSpec, run: EvalRun) -> Analyzer | None:
    """The analyzer of ``entry``, recorded in ``run.models``; ``None`` for a baseline that cannot be loaded
    (recorded as skipped with its reason). Any other model that cannot be loaded raises."""
    try:
        analyzer = load_for_evaluation(entry.spec)
    except Exception as e:
        if not entry.baseline:
            raise
        run.models.append({"name": entry.name, "status": "skipped", "reason": str(e)})
        return None
    run.models.append({"name": entry.name, "status": "ok", "info": analyzer.info(), "baseline": entry.baseline})
    return analyzer


def model_pairs(entry: ModelSpec, analyzer: Analyzer, prepared: list[Prepared],
                options: EvalOptions) -> list["dict[str, Any] | Pair"]:
    """For each task in order: a finished result entry (the task is skipped for this model, with the reason),
    or a :class:`Pair` to predict and score."""
    info = analyzer.info()
    model_files = _model_fingerprint(entry.name, analyzer)
    out: list[dict[str, Any] | Pair] = []
    for task, data, reason in prepared:
        result: dict[str, Any] = {"model": entry.name, "task": task.name, "type": task.kind}
        if data is None:
            out.append({**result, "status": "skipped", "reason": reason})
            continue
        reads = analyzer_reads(analyzer)
        if task.modality not in reads:
            out.append({**result, "status": "skipped", "reason": f"{entry.name} reads {' and '.join(reads)}; the "
                        f"items of task {task.name} are {task.modality}"})
            continue
        try:
            plan = plan_labels(analyzer, task.labels, task.via)
        except Unsupported as e:
            out.append({**result, "status": "skipped", "reason": str(e)})
            continue
        identity = {"format": RECORD_VERSION, "model": info, "model_files": model_files,
                    "data": task.dataset.key(), "data_sha256": data.dataset.fingerprint(),
                    "rows": len(data.dataset), "plan": plan.describe(), "chunk_size": options.chunk_size}
        if task.context:
            identity["context"] = task.context
        out.append(Pair(task, data, plan, identity, result))
    return out


def write_results(run: EvalRun, options: EvalOptions, out: Path) -> None:
    """``results.json`` and the Markdown and HTML leaderboards."""
    from affectkit.evaluation import report

    out.mkdir(parents=True, exist_ok=True)
    payload = to_jsonable(run.to_dict(options))
    tmp = out / "results.json.tmp"
    tmp.write_text(json.dumps(payload, indent=1, ensure_ascii=False, allow_nan=False))
    tmp.replace(out / "results.json")
    report.write_markdown(payload, out / "leaderboard.md")
    report.write_html(payload, out / "leaderboard.html")


def evaluate(models: Sequence["ModelSpec | str | Analyzer"], tasks: Sequence[Task], out_dir: str | Path | None,
             options: EvalOptions | None = None) -> EvalRun:
    """Run every model on every task, score, and (with ``out_dir``) write results, per-sample predictions and
    the leaderboards. Returns the :class:`EvalRun`. (``affectkit eval --engine ray`` runs the same steps with the
    predictions of each model x task pair on a Ray worker: :mod:`affectkit.distributed.eval_job`.)"""
    options = options or EvalOptions()
    out = Path(out_dir) if out_dir is not None else None
    cache_dir = (out / "cache") if out is not None else None
    entries = [m if isinstance(m, ModelSpec) else ModelSpec(m) for m in models]
    run = EvalRun(out_dir=out)
    prepared = prepare_tasks(tasks, options, run)

    # predictions per model x (rows, label set), shared by the tasks that need the same ones
    keys: dict[str, int] = {}
    for task, data, _ in prepared:
        if data is not None:
            keys.setdefault(task.prediction_key(), len(data.dataset))
    progress = _Progress(sum(keys.values()) * len(entries), options.progress)
    try:
        for entry in entries:
            analyzer = load_model_entry(entry, run)
            if analyzer is None:
                progress.update(sum(keys.values()))
                continue
            done: dict[str, tuple[list[dict[str, Any]], float | None]] = {}
            for pair in model_pairs(entry, analyzer, prepared, options):
                if not isinstance(pair, Pair):
                    run.results.append(pair)
                    continue
                pkey = pair.task.prediction_key()
                if pkey not in done or not done[pkey][0]:
                    progress.update(0, f"{entry.name} / {pair.task.name}")
                    ctx = pair.task.context_options()
                    if cache_dir is not None:
                        records, seconds = cached_predictions(
                            analyzer, entry.name, pair.plan, pair.data.dataset.texts, cache_dir, pair.identity,
                            options, progress, None if ctx is None else (ctx, pair.data.dataset))
                    else:
                        t0 = time.time()
                        if ctx is not None:
                            from affectkit.evaluation.predict import predict_dataset

                            records = predict_dataset(analyzer, pair.data.dataset, pair.plan, ctx,
                                                      options.batch_size)
                        else:
                            records = predict_chunk(analyzer, pair.data.dataset.texts, plan=pair.plan,
                                                    batch_size=options.batch_size)
                        seconds = time.time() - t0
                        progress.update(len(records))
                    done[pkey] = (records, seconds)
                records, seconds = done[pkey]
                run.results.append(score_pair(pair, records, seconds, options, out))
            # tasks this model cannot answer predict nothing: count their rows as done
            progress.update(sum(n for k, n in keys.items() if k not in done))
    finally:
        progress.close()
    if out is not None:
        write_results(run, options, out)
    return run


def score_pair(pair: Pair, records: list[dict[str, Any]], seconds: float | None, options: EvalOptions,
               out: Path | None) -> dict[str, Any]:
    """The result entry of ``pair`` from its prediction records (and, with ``out``, its per-sample
    predictions and confusion plot)."""
    from affectkit.evaluation import report

    task, data, plan, result = pair.task, pair.data, pair.plan, dict(pair.result)
    preds = PredictionArrays.from_records(records, plan.output)
    try:
        scored = score_task(task, data, preds, options.n_boot, options.seed)
    except Unsupported as e:
        return {**result, "status": "skipped", "reason": str(e)}
    n = len(data.dataset)
    result.update({"status": "ok", "headline": _headline(task, scored), "metrics": scored.metrics,
                   "n": n, "n_scored": scored.n_scored, "n_errors": int(sum(e is not None for e in preds.errors)),
                   "per_label": scored.per_label, "confusion": scored.confusion,
                   "mapping": mapping_report(plan, preds, data), "gold_mapping": data.gold_mapping_report(),
                   "notes": scored.notes, "details": scored.details,
                   "seconds": None if seconds is None else round(seconds, 2),
                   "texts_per_second": None if not seconds else round(n / seconds, 1)})
    if out is not None:
        rel = Path("predictions") / slug(result["model"]) / f"{slug(task.name)}.jsonl"
        write_jsonl(_sample_rows(task, data, preds, scored), out / rel)
        result["predictions"] = str(rel)
        if scored.confusion is not None:
            prel = Path("plots") / f"{slug(result['model'])}__{slug(task.name)}.png"
            report.plot_confusion(scored.confusion, out / prel, f"{result['model']} on {task.name}")
            result["plot"] = str(prel)
    return result
