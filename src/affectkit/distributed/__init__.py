"""Scale-out: the same job over a partitioned input, on this machine or on a Ray cluster (``--engine ray``).

    affectkit analyze posts/ -o results/ --engine ray                      # local Ray, one actor per core
    affectkit analyze 'posts/*.parquet' -o results.parquet --engine ray --ray-address auto --workers 2-16
    affectkit rank posts/ --by distress --top 10000 -o most-distressed.csv --engine ray
    affectkit eval -m default -m fast --suite shipped -o eval-results/ --engine ray

- :mod:`~affectkit.distributed.partitions`: input partitions (a file, a glob, a directory) and the output layout.
- :mod:`~affectkit.distributed.jobs`: :class:`PartitionJob` (one command's work on one partition),
  :class:`AnalyzeJob`, and :func:`register_job` for other commands;
  :mod:`~affectkit.distributed.rank_job` (``rank``: sorted partitions, k-way merge) and
  :mod:`~affectkit.distributed.eval_job` (``eval``: one unit per task and model) and
  :mod:`~affectkit.distributed.media_job` (``analyze`` of image, audio and video files: one unit per chunk).
- :mod:`~affectkit.distributed.manifest`: ``_manifest.json`` with each partition's row count and SHA-256.
- :mod:`~affectkit.distributed.engine`: the driver loop and the in-process executor.
- :mod:`~affectkit.distributed.ray_engine`: the Ray Data actor-pool executor.

Exit status of the CLI (the table in README.md): 0 done; 1 the job failed as a whole (bad options, every partition
or every row failed, Ray unreachable); 3 incomplete (some partitions failed, each listed with its path and reason;
the rest are written; rerun the same command after fixing or removing them; or more rows failed than
``--max-error-rate`` allows); 130 interrupted (rerun to resume).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from affectkit.distributed.engine import Executor, LocalExecutor, PartitionedReport, run_partitioned
from affectkit.distributed.jobs import AnalyzeJob, PartitionJob, PartStats
from affectkit.distributed.partitions import Partition, find_partitions, is_directory_output
from affectkit.distributed.registry import JOBS, register_job
from affectkit.errors import AffectkitError, InputError

ENGINES = ("local", "ray")
log = logging.getLogger(__name__)


def make_executor(engine: str, address: str | None = None, workers: str | int | None = None,
                  cpus_per_worker: float = 1.0, runtime_env: dict[str, Any] | None = None,
                  quiet: bool = False) -> Executor:
    if engine == "local":
        if workers is not None or address is not None:
            log.warning("--workers and --ray-address apply to --engine ray; the local engine runs in this process")
        return LocalExecutor()
    if engine == "ray":
        from affectkit.distributed.ray_engine import RayExecutor

        return RayExecutor(address, workers, cpus_per_worker, runtime_env, quiet=quiet)
    raise InputError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")


def load_runtime_env(spec: str | None) -> dict[str, Any] | None:
    """``--ray-runtime-env``: inline JSON, or a path to a JSON or YAML file (Ray's runtime_env dictionary)."""
    if not spec:
        return None
    path = Path(spec)
    text = path.read_text() if path.is_file() else spec
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            env = yaml.safe_load(text)
        else:
            env = json.loads(text)
    except ValueError as e:
        raise InputError(f"--ray-runtime-env is neither a JSON/YAML file nor inline JSON: {e}") from None
    if not isinstance(env, dict):
        raise InputError("--ray-runtime-env must be a JSON object (Ray's runtime_env)")
    return env


def needs_partitioned_run(input: str, output: str | Path | None, engine: str) -> bool:
    """Whether the CLI runs a partitioned job: any engine but local, an input that is a directory or a glob, or
    a directory output. Everything else (one file or stdin in, one file or stdout out) is the local engine's."""
    if engine != "local":
        return True
    path = Path(input)
    many_inputs = input != "-" and not path.is_file() and (path.is_dir() or any(c in input for c in "*?["))
    return many_inputs or (output is not None and is_directory_output(output))


def run_distributed(command: str, input: str | Path, output: str | Path | None, model: Any, options: Any, *,
                    engine: str = "ray", address: str | None = None, fmt: str | None = None,
                    output_format: str | None = None, chunk_size: int = 1024, workers: str | int | None = None,
                    cpus_per_worker: float = 1.0, runtime_env: dict[str, Any] | str | None = None,
                    resume: bool = True, quiet: bool = False) -> PartitionedReport:
    """Run ``command`` (``analyze``, or one registered with :func:`register_job`) partition by partition on
    ``engine``, print its summary to stderr unless ``quiet``, and return the report. Raises
    :class:`~affectkit.errors.IncompleteJobError` (exit status 3) when some partitions failed."""
    if output is None or str(output) == "-":
        raise InputError("partitioned and Ray jobs write files: pass -o DIR (one result file per input partition "
                         "plus _manifest.json) or -o FILE (assembled at the end)")
    if command not in JOBS:
        raise InputError(f"no partitioned job for {command!r}; registered: {', '.join(sorted(JOBS))}")
    job = JOBS[command](model, options, chunk_size=chunk_size)
    env = load_runtime_env(runtime_env) if isinstance(runtime_env, str) else runtime_env
    executor = make_executor(engine, address, workers, cpus_per_worker, env, quiet)
    try:
        report = run_partitioned(job, input, output, executor, fmt, output_format, resume, progress=not quiet)
    except AffectkitError as e:
        partial = getattr(e, "report", None)
        if partial is not None and not quiet:
            print(partial.summary(), file=sys.stderr)
        raise
    if not quiet:
        print(report.summary(), file=sys.stderr)
    return report


__all__ = ["run_distributed", "run_partitioned", "make_executor", "needs_partitioned_run", "PartitionJob",
           "AnalyzeJob", "PartStats", "register_job", "Partition", "find_partitions", "PartitionedReport",
           "LocalExecutor", "ENGINES"]
