"""The evaluation harness behind ``affectkit eval``: tasks declared as data, metrics with bootstrap intervals,
cached and resumable predictions, and leaderboards.

    >>> from affectkit.evaluation import evaluate, select_tasks
    >>> run = evaluate(["default"], select_tasks(suites=["shipped"]), "results/")      # doctest: +SKIP

- :mod:`~affectkit.evaluation.task`: the task files (``tasks/*.yaml``) and their schema;
- :mod:`~affectkit.evaluation.predict`: :func:`predict_chunk`, the one function that computes predictions;
- :mod:`~affectkit.evaluation.scoring`: scoring a task from prediction records;
- :mod:`~affectkit.evaluation.metrics`: the metric functions;
- :mod:`~affectkit.evaluation.runner`: the job (cache, resume, progress); :mod:`~affectkit.evaluation.report`:
  the leaderboards.
"""

from affectkit.evaluation.predict import LabelPlan, PredictionArrays, Unsupported, plan_labels, predict_chunk
from affectkit.evaluation.runner import EvalOptions, EvalRun, ModelSpec, evaluate
from affectkit.evaluation.scoring import Scored, score_task
from affectkit.evaluation.task import (
           Task,
           TaskData,
           load_task,
           parse_task,
           select_tasks,
           shipped_tasks,
           task_data,
)

__all__ = ["LabelPlan", "PredictionArrays", "Unsupported", "plan_labels", "predict_chunk", "EvalOptions", "EvalRun",
           "ModelSpec", "evaluate", "Scored", "score_task", "Task", "TaskData", "load_task", "parse_task",
           "select_tasks", "shipped_tasks", "task_data"]
