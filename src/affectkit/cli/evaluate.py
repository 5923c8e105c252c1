from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from affectkit.analyzers.base import DEFAULT_BATCH_SIZE
from affectkit.cli.app import app, setup_logging
from affectkit.cli.engine_options import (
    check_engine,
    cpus_per_worker_option,
    engine_option,
    ray_address_option,
    ray_runtime_env_option,
    workers_option,
)


@app.command("eval")
def eval_command(
    model: Optional[List[str]] = typer.Option(None, "--model", "-m", help="Model to evaluate (repeatable): default, "
                                              "fast, a model folder, lexicon:PATH, hf:ID, llm:... Default: default."),
    task: Optional[List[str]] = typer.Option(None, "--task", "-t", help="Task name or task file (YAML), repeatable."),
    suite: Optional[List[str]] = typer.Option(None, "--suite", "-s", help="Task suite (a tag of the shipped tasks, "
                                              "e.g. shipped; all = every shipped task), repeatable."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Folder for results.json, leaderboards, "
                                          "per-sample predictions and the resumable cache."),
    baselines: bool = typer.Option(True, "--baselines/--no-baselines", help="Add the baseline analyzers that are "
                                   "installed (VADER; text2emotion is reported as unavailable offline)."),
    lexicon: Optional[List[str]] = typer.Option(None, "--lexicon", help="An NRC-style lexicon file to add as a "
                                                "baseline (repeatable)."),
    bootstrap: int = typer.Option(1000, "--bootstrap", min=0, help="Bootstrap resamples for the confidence intervals "
                                  "(0 = none)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap resampling."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Score at most this many rows per task (a "
                                        "seeded random sample; quick runs)."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Reuse finished predictions and continue "
                                "interrupted ones."),
    chunk_size: int = typer.Option(1024, "--chunk-size", min=1, help="Texts per chunk (the unit of caching and "
                                   "resume)."),
    batch_size: int = typer.Option(DEFAULT_BATCH_SIZE, "--batch-size", min=1, help="Texts per model call."),
    list_tasks: bool = typer.Option(False, "--list-tasks", help="List the shipped tasks and exit."),
    engine: str = engine_option("each task x model pair on a Ray actor"),
    ray_address: Optional[str] = ray_address_option(),
    workers: Optional[str] = workers_option(),
    cpus_per_worker: float = cpus_per_worker_option(),
    ray_runtime_env: Optional[str] = ray_runtime_env_option(),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
) -> None:
    """Evaluate models on emotion tasks declared as data; write results.json, per-sample predictions and
    Markdown/HTML leaderboards with confidence intervals. With --engine ray, each task x model pair is
    predicted on a Ray worker and scored here."""
    setup_logging(quiet)
    from affectkit.errors import InputError
    from affectkit.evaluation.task import select_tasks, shipped_tasks

    if list_tasks:
        for t in shipped_tasks().values():
            d = t.dataset
            print(f"{t.name:28s} {t.kind:28s} {d.loader + '/' + d.split:26s} {t.headline:17s} {','.join(t.tags)}")
        return
    if output is None:
        raise InputError("name an output folder with -o DIR")
    from affectkit.evaluation import baselines as baseline_models
    from affectkit.evaluation.runner import EvalOptions, ModelSpec, evaluate

    tasks = select_tasks(list(task or []), list(suite or []))
    models = [ModelSpec(m) for m in (model or ["default"])]
    if baselines:
        models += [ModelSpec(b, baseline=True) for b in baseline_models.BASELINES]
    models += [ModelSpec(f"lexicon:{p}", baseline=True) for p in (lexicon or [])]
    options = EvalOptions(n_boot=bootstrap, seed=seed, resume=resume, progress=not quiet, chunk_size=chunk_size,
                          batch_size=batch_size, limit=limit)
    check_engine(engine)
    if engine == "local":
        payload = evaluate(models, tasks, output, options).to_dict(options)
    else:
        from affectkit.distributed import run_distributed
        from affectkit.distributed.eval_job import EvalRequest

        run_distributed("eval", "", f"{output}/", models, EvalRequest(tasks, options), engine=engine,
                        address=ray_address, chunk_size=chunk_size, workers=workers,
                        cpus_per_worker=cpus_per_worker, runtime_env=ray_runtime_env, resume=resume, quiet=quiet)
        payload = json.loads((output / "results.json").read_text())
    if not quiet:
        _print_summary(payload, output)
    dead = failed_models(payload)
    if dead:
        from affectkit.errors import RowErrorsError

        raise RowErrorsError(f"every row failed for {', '.join(dead)} (see the error field of "
                             f"{output / 'predictions'}); no score of it means anything")


def failed_models(payload: dict) -> list[str]:
    """The models whose every prediction failed, over all the tasks they were scored on (e.g. an unreachable LLM
    server)."""
    rows: dict[str, list[int]] = {}
    for r in payload.get("results", []):
        if r.get("status") == "ok" and r.get("n"):
            seen = rows.setdefault(r["model"], [0, 0])
            seen[0] += int(r["n"])
            seen[1] += int(r.get("n_errors") or 0)
    return [m for m, (n, errors) in rows.items() if errors >= n]


def _print_summary(payload: dict, output: Path) -> None:
    from affectkit.evaluation.report import leaderboard_rows

    for m in payload["models"]:
        if m["status"] != "ok":
            print(f"model {m['name']} skipped: {m['reason']}", file=sys.stderr)
    rows = leaderboard_rows(payload)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print(f"wrote {output / 'results.json'}, {output / 'leaderboard.md'}, {output / 'leaderboard.html'}",
          file=sys.stderr)
