"""``affectkit eval`` on the partitioned engine: one unit of work per (task, model) pair.

The driver does what :func:`affectkit.evaluation.evaluate` does before predicting: it loads the tasks' data
(:func:`~affectkit.evaluation.runner.prepare_tasks`), each model (to record it and plan its labels), and decides
which pairs to predict (:func:`~affectkit.evaluation.runner.model_pairs`). Each pair becomes a unit: a worker
loads the model (once while its units are of the same model) and the task's data, and writes the pair's
prediction records with :func:`~affectkit.evaluation.runner.cached_predictions` (chunked and resumable, as
locally) to ``records/MODEL/TASK.jsonl``. :meth:`EvalJob.finish` then scores every pair on the driver with
:func:`~affectkit.evaluation.runner.score_pair` and writes ``results.json``, the leaderboards, per-sample
predictions and plots, exactly as the local run does.

A unit is verified on a rerun by the identity of its predictions (model info and files, data checksum, label
plan, chunk size): the same identity the local prediction cache checks.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from affectkit.distributed.jobs import PartitionJob, PartStats
from affectkit.distributed.manifest import Manifest
from affectkit.distributed.partitions import MANIFEST, WORK_SUFFIX, OutputLayout, Partition
from affectkit.errors import InputError
from affectkit.evaluation.runner import EvalOptions, EvalRun, ModelSpec, Pair, slug
from affectkit.evaluation.task import Task


@dataclass
class EvalRequest:
    """The tasks to run and the options (``run_distributed("eval", ..., model=MODELS, options=EvalRequest(...))``)."""

    tasks: list[Task]
    options: EvalOptions


class EvalJob(PartitionJob):
    """Predictions of each (task, model) pair as one unit; metrics and leaderboards in :meth:`finish`."""

    command = "eval"
    part_format = "jsonl"
    finish_directory = True

    def __init__(self, models: list["ModelSpec | str"], request: EvalRequest, chunk_size: int | None = None) -> None:
        self.models = [m if isinstance(m, ModelSpec) else ModelSpec(m) for m in models]
        self.tasks = list(request.tasks)
        options = request.options if chunk_size is None else replace(request.options, chunk_size=chunk_size)
        self.options = replace(options, progress=False)
        self.units: dict[str, tuple[Any, Task, dict[str, Any]]] = {}  # key -> (model spec, task, identity)
        self._run: EvalRun | None = None  # driver only: what finish scores
        self._slots: list[tuple[str | None, Any]] = []

    def __getstate__(self) -> dict[str, Any]:
        """Workers get the units, not the driver's loaded data."""
        return {**self.__dict__, "_run": None, "_slots": []}

    def check_layout(self, layout: OutputLayout) -> None:
        if layout.single_file:
            raise InputError("eval writes a folder (results.json, leaderboards, per-sample predictions): give -o DIR")

    def identity(self) -> dict[str, Any]:
        """Each unit carries its own identity (:meth:`fingerprint`); models and tasks may be added or dropped
        between runs without redoing the others."""
        from affectkit.evaluation.predict import RECORD_VERSION

        return {"records": RECORD_VERSION}

    def fingerprint(self, partition: Partition) -> dict[str, Any]:
        return self.units[partition.key][2]

    def partitions(self, input: str | Path, fmt: str | None, exclude: Path | None) -> list[Partition]:
        """One unit per (task, model) pair that has something to predict; the other pairs (a baseline that is
        not installed, data not available, labels the model cannot reach) are recorded as skipped, as locally."""
        from affectkit.evaluation.runner import load_model_entry, model_pairs, prepare_tasks

        run = EvalRun()
        prepared = prepare_tasks(self.tasks, self.options, run)
        units: list[Partition] = []
        for entry in self.models:
            analyzer = load_model_entry(entry, run)
            if analyzer is None:
                continue
            for pair in model_pairs(entry, analyzer, prepared, self.options):
                if not isinstance(pair, Pair):
                    self._slots.append((None, pair))
                    continue
                key = f"records/{slug(entry.name)}/{slug(pair.task.name)}.json"
                self.units[key] = (entry.spec, pair.task, json.loads(json.dumps(pair.identity, default=str)))
                self._slots.append((key, pair))
                source = pair.task.source or f"task {pair.task.name}"
                units.append(Partition(key, f"{source} x {entry.name}", "jsonl"))
            del analyzer  # one model in the driver's memory at a time
        self._run = run
        return units

    def setup(self) -> dict[str, Any]:
        return {}  # the model of the current units, loaded by run

    def run(self, state: dict[str, Any], partition: Partition, target: Path, fmt: str) -> PartStats:
        from affectkit.evaluation.predict import plan_labels
        from affectkit.evaluation.runner import cached_predictions, load_for_evaluation, write_jsonl
        from affectkit.evaluation.task import load_dataset_for, task_data

        spec, task, identity = self.units[partition.key]
        if "analyzer" not in state or state["spec"] != spec:
            state.clear()  # units come sorted by model: one model per worker at a time
            state.update(spec=spec, analyzer=load_for_evaluation(spec))
        analyzer = state["analyzer"]
        data = task_data(task, load_dataset_for(task.dataset))
        plan = plan_labels(analyzer, task.labels, task.via)
        work = target.with_name(target.name + WORK_SUFFIX)  # resumable chunks; removed by the engine on failure
        ctx = task.context_options()
        records, _ = cached_predictions(analyzer, "records", plan, data.dataset.texts, work, identity, self.options,
                                        context=None if ctx is None else (ctx, data.dataset))
        write_jsonl(records, target)
        shutil.rmtree(work, ignore_errors=True)
        return PartStats(len(records), sum(r.get("error") is not None for r in records))

    def finish(self, parts: list[Path], output: Path, fmt: str) -> None:
        """Score every pair from its records, in the local order (model by model, task by task), and write the
        results; ``seconds`` of a pair is its unit's time on the worker (with loading the data)."""
        from affectkit.evaluation.runner import read_jsonl, score_pair, write_results

        assert self._run is not None, "finish runs on the driver, after partitions"
        previous = Manifest.read_previous(output / MANIFEST) or {}
        seconds = {r["key"]: r.get("seconds") for r in previous.get("partitions", [])}
        run = replace(self._run, out_dir=output, results=[])
        records = dict(zip(self.units, parts))
        for key, slot in self._slots:
            if key is None:
                run.results.append(slot)
            else:
                run.results.append(score_pair(slot, read_jsonl(records[key]), seconds.get(key), self.options,
                                              output))
        write_results(run, self.options, output)
