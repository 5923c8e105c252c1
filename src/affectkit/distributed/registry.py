"""Which partitioned job each command runs: ``analyze``, ``analyze-media`` (image, audio and video inputs of
``analyze``), ``rank`` and ``eval`` here, others added with
:func:`register_job`. The job modules are imported when their command is first run."""

from __future__ import annotations

from typing import Any, Callable

from affectkit.distributed.jobs import AnalyzeJob, PartitionJob


def _rank_job(*args: Any, **kwargs: Any) -> PartitionJob:
    from affectkit.distributed.rank_job import RankJob

    return RankJob(*args, **kwargs)


def _eval_job(*args: Any, **kwargs: Any) -> PartitionJob:
    from affectkit.distributed.eval_job import EvalJob

    return EvalJob(*args, **kwargs)


def _media_job(*args: Any, **kwargs: Any) -> PartitionJob:
    from affectkit.distributed.media_job import MediaJob

    return MediaJob(*args, **kwargs)


JOBS: dict[str, Callable[..., PartitionJob]] = {"analyze": AnalyzeJob, "analyze-media": _media_job,
                                                "rank": _rank_job, "eval": _eval_job}


def register_job(command: str, factory: Callable[..., PartitionJob]) -> None:
    """Make ``run_distributed(command, ...)`` build its job with ``factory``."""
    JOBS[command] = factory
