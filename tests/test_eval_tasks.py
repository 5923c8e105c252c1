"""Task files: the shipped ones parse, bad files fail with clear messages, and a new task is one YAML file."""

from __future__ import annotations

import pytest
from eval_support import EVAL_FIXTURES

from affectkit.errors import InputError
from affectkit.evaluation import load_task, parse_task, select_tasks, shipped_tasks
from affectkit.evaluation.task import TASK_TYPES, load_dataset_for, tasks_dir


def test_shipped_tasks_parse_and_cover_every_type():
    tasks = shipped_tasks()
    assert {t.type for t in tasks.values()} == set(TASK_TYPES)
    shipped = {t.name for t in select_tasks(suites=["shipped"])}
    loaders = {tasks[n].dataset.loader for n in shipped}
    assert {"goemotions", "emobank", "meld", "emorynlp", "armanemo"} <= loaders
    assert {"goemotions", "goemotions-ekman"} <= shipped  # GoEmotions on 28 labels and on Ekman-7
    for t in tasks.values():
        assert t.headline in t.metrics and t.description
    assert len(list(tasks_dir().glob("*.yaml"))) == len(tasks)


@pytest.mark.parametrize("spec, message", [
    ({"task": "x", "type": "sorting", "dataset": "goemotions"}, "type must be one of"),
    ({"task": "x", "type": "perception", "dataset": "goemotions"}, "needs the label set"),
    ({"task": "x", "type": "perception", "dataset": "goemotions", "labels": "nope"}, "unknown label set"),
    ({"task": "x", "type": "perception", "dataset": "goemotions", "labels": "ekman", "metrics": ["pearson"]},
     "does not apply to perception/single-label"),
    ({"task": "x", "type": "perception", "dataset": "goemotions", "labels": "ekman", "metrics": ["accuracy"],
      "headline": "macro_f1"}, "headline 'macro_f1' is not one of"),
    ({"task": "x", "type": "perception", "dataset": "goemotions", "labels": "ekman", "options": {"k": 3}},
     "unknown option"),
    ({"task": "x", "type": "pairwise", "dataset": "emobank", "target": "happiness"}, "target must be one of"),
    ({"task": "x", "type": "assessment", "dataset": "emobank", "target": "vad", "colour": 1}, "unknown key"),
    ({"task": "x", "type": "assessment", "dataset": {"split": "test"}, "target": "vad"}, "must name a loader"),
])
def test_bad_task_files_fail_clearly(spec, message):
    with pytest.raises(InputError, match=message):
        parse_task(spec)


def test_metric_names_with_parameters():
    t = parse_task({"task": "x", "type": "item_ranking", "dataset": "emobank", "target": "arousal",
                    "metrics": ["ndcg@25", "recall@5%", "kendall"]})
    assert t.headline == "kendall"
    t = parse_task({"task": "x", "type": "perception", "mode": "multi-label", "dataset": "goemotions",
                    "labels": "goemotions", "metrics": ["top5_accuracy", "macro_f1"]})
    assert t.headline == "macro_f1"


def test_a_new_task_is_one_file(tmp_path):
    # the data file sits beside the task file; the path is relative to it
    (tmp_path / "my.csv").write_text("utterance,feeling\nWhat a lovely day,joy\nThis is awful,anger\n")
    task_file = tmp_path / "my-task.yaml"
    task_file.write_text(
        "task: my-task\n"
        "description: Two sentences of my own.\n"
        "type: perception\n"
        "dataset: {loader: table, split: test, path: my.csv, labelset: ekman,\n"
        "          columns: {text: utterance, labels: feeling}}\n"
        "labels: ekman\n"
        "metrics: [accuracy, macro_f1]\n")
    task = load_task(task_file)
    assert task.name == "my-task" and task.source == task_file
    ds = load_dataset_for(task.dataset)
    assert ds.texts == ["What a lovely day", "This is awful"]
    assert [t.name for t in select_tasks([str(task_file)], ["shipped"])][-1] == "my-task"


def test_relative_paths_fall_back_to_the_data_folder(monkeypatch):
    monkeypatch.setenv("AFFECTKIT_DATA", str(EVAL_FIXTURES))
    task = load_task("semeval2018-ec")  # path: semeval2018/2018-E-c-En-test-gold.txt under the data folder
    assert len(load_dataset_for(task.dataset)) == 4


def test_unknown_task_and_suite():
    with pytest.raises(InputError, match="unknown task 'nope'"):
        load_task("nope")
    with pytest.raises(InputError, match="no shipped task is in suite"):
        select_tasks(suites=["nope"])
    with pytest.raises(InputError, match="no task chosen"):
        select_tasks()
    with pytest.raises(InputError, match="task file not found"):
        load_task("missing.yaml")
