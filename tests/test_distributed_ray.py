"""The Ray engine on a real two-node Ray cluster on localhost (``ray start --head`` + ``ray start --address``).

The cluster is started once for this module with 1 CPU and 100 MB of object store per node, and torn down at
the end. Teardown kills, by PID, exactly the processes that carry this session's marker in their environment
(every Ray process started here inherits it), rather than ``ray stop --force``, which would also stop any other
Ray on the machine. Drivers are the real CLI in subprocesses.

Results are compared with the local engine (:func:`affectkit.runner.run_analyze` on each partition file). Both
run with one onnxruntime thread and one BLAS thread (``AFFECTKIT_THREADS=1``, ``OMP_NUM_THREADS=1``: what a
1-CPU Ray actor uses): with other thread counts, sums are added in another order and can differ in the last
bit, which now and then flips the 6th decimal written out.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import affectkit
from affectkit.analyzers import shipped_models

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the cluster teardown reads /proc")
pytest.importorskip("ray", reason="the Ray engine needs ray[data]: pip install 'affectkit[ray]'")

SRC = Path(affectkit.__file__).resolve().parents[1]
MARKER_VAR = "AFFECTKIT_RAY_TEST_SESSION"
START_TIMEOUT = 180
JOB_TIMEOUT = 420
REAL_MODEL = "default" in shipped_models()
ROWS = 600 if REAL_MODEL else 40_000  # per partition: a few seconds of work for one worker either way
SUBJECTS = ["I", "My sister", "The whole team", "Nobody here", "Our neighbour", "You"]
FEELINGS = ["am so happy about", "am angry at", "am afraid of", "love", "hate", "was sad after"]
OBJECTS = ["the new job", "this weather", "the game last night", "my exam results", "the long queue"]


@dataclass
class Cluster:
    address: str
    env: dict[str, str]
    marker: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _marked_pids(marker: str) -> list[int]:
    """PIDs of processes whose environment carries ``marker`` (all Ray processes this module started)."""
    needle = f"{MARKER_VAR}={marker}".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    pids.append(int(entry))
        except OSError:
            continue
    return pids


def _title(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _kill_marked(marker: str) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _marked_pids(marker):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.time() + 10
        while _marked_pids(marker) and time.time() < deadline:
            time.sleep(0.2)


def _ray(args: list[str], env: dict[str, str]) -> None:
    cmd = [sys.executable, "-c", "import sys; from ray.scripts.scripts import main; sys.exit(main())", *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=START_TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"ray {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def _start_cluster(env: dict[str, str], temp: str) -> str:
    port = _free_port()
    node = ["--num-cpus=1", "--object-store-memory=100000000", f"--temp-dir={temp}", "--disable-usage-stats",
            "--include-log-monitor=false"]
    _ray(["start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1", "--include-dashboard=false", *node],
         env)
    _ray(["start", f"--address=127.0.0.1:{port}", "--node-ip-address=127.0.0.1", *node], env)
    address = f"127.0.0.1:{port}"
    check = ("import ray, time; ray.init(address=%r, logging_level='ERROR')\n"
             "for _ in range(120):\n"
             "    if sum(n['Alive'] for n in ray.nodes()) == 2: break\n"
             "    time.sleep(0.5)\n"
             "print(sum(n['Alive'] for n in ray.nodes()), ray.cluster_resources().get('CPU'))" % address)
    out = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True,
                         timeout=START_TIMEOUT)
    if out.stdout.split()[-2:] != ["2", "2.0"]:
        raise RuntimeError(f"expected 2 nodes with 1 CPU each: {out.stdout}{out.stderr}")
    return address


@pytest.fixture(scope="module")
def ray_env() -> tuple[dict[str, str], str]:
    """The environment of every Ray process and driver started here, marked so that teardown finds them all."""
    marker = secrets.token_hex(8)
    env = {**os.environ, MARKER_VAR: marker, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get(
        "PYTHONPATH")])), "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16),
        "RAY_USAGE_STATS_ENABLED": "0", "AFFECTKIT_THREADS": "1", "OMP_NUM_THREADS": "1"}
    env.pop("RAY_ADDRESS", None)
    try:
        yield env, marker
    finally:
        _kill_marked(marker)


@pytest.fixture(scope="module")
def cluster(ray_env: tuple[dict[str, str], str]) -> Cluster:
    env, marker = ray_env
    temp = tempfile.mkdtemp(prefix="akray-", dir="/tmp")  # short: Ray's socket paths must fit in 107 bytes
    try:
        for attempt in range(3):  # a raylet must register within Ray's fixed 30 s: on a busy machine, try again
            try:
                address = _start_cluster(env, temp)
                break
            except (RuntimeError, subprocess.TimeoutExpired):  # a start that hangs is retried as one that fails
                _kill_marked(marker)
                if attempt == 2:
                    raise
                time.sleep(15)
        yield Cluster(address, env, marker)
    finally:
        _kill_marked(marker)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> str:
    if REAL_MODEL:
        return "default"
    path = tmp_path_factory.mktemp("lexicon") / "lexicon.tsv"
    path.write_text("happy\tjoy\t1\nlove\tjoy\t1\nangry\tanger\t1\nhate\tanger\t1\nafraid\tfear\t1\n"
                    "sad\tsadness\t1\n", encoding="utf-8")
    return f"lexicon:{path}"


def _texts(start: int, n: int) -> list[str]:
    return [f"{SUBJECTS[i % 6]} {FEELINGS[(i // 6) % 6]} {OBJECTS[(i // 36) % 5]} (#{i})"
            for i in range(start, start + n)]


def make_partitions(root: Path, n: int, rows: int = ROWS) -> list[Path]:
    root.mkdir(parents=True)
    files = []
    for k in range(n):
        f = root / f"day={k:02d}" / "posts.csv"
        f.parent.mkdir()
        pd.DataFrame({"id": range(k * rows, (k + 1) * rows), "text": _texts(k * rows, rows)}).to_csv(f, index=False)
        files.append(f)
    return files


def affectkit_cli(args: list, env: dict[str, str], timeout: int = JOB_TIMEOUT,
                  cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "affectkit", *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=timeout, cwd=cwd)


def start_cli(args: list, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "affectkit", *map(str, args)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def local_reference(files: list[Path], model: str, out_dir: Path, env: dict[str, str], chunk_size: int = 4096,
                    batch_size: int = 256) -> list[Path]:
    """The local engine on each partition file, in a fresh process with one onnxruntime thread, with the same
    chunk and batch sizes as the job (the int8 model quantises activations per batch, so a text's scores
    depend on the batch it is in)."""
    outs = [out_dir / f"ref-{i}.parquet" for i in range(len(files))]
    code = ("import sys, affectkit\nfrom affectkit.runner import AnalyzeOptions, run_analyze\n"
            "m, chunk, batch = affectkit.load(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])\n"
            "for src, dst in zip(sys.argv[4::2], sys.argv[5::2]):\n"
            "    run_analyze(src, dst, m, AnalyzeOptions(batch_size=batch), chunk_size=chunk, progress=False)\n")
    args = [str(a) for pair in zip(files, outs) for a in pair]
    done = subprocess.run([sys.executable, "-c", code, model, str(chunk_size), str(batch_size), *args], env=env,
                          capture_output=True, text=True, timeout=JOB_TIMEOUT)
    assert done.returncode == 0, done.stderr
    return outs


def assert_same_as_reference(out_dir: Path, refs: list[Path], n_rows: int) -> dict:
    manifest = json.loads((out_dir / "_manifest.json").read_text())
    assert manifest["complete"] and manifest["rows"] == n_rows
    got = pd.concat([pd.read_parquet(out_dir / r["part"]) for r in manifest["partitions"]], ignore_index=True)
    ref = pd.concat([pd.read_parquet(p) for p in refs], ignore_index=True)
    pd.testing.assert_frame_equal(got, ref)
    return manifest


def _wait_for(condition, timeout: float, what: str, proc: subprocess.Popen | None = None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the job ended (exit {proc.returncode}) before {what}:\n{proc.stdout.read()}")
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def test_ray_on_two_nodes_gives_the_local_engines_rows(cluster: Cluster, model: str, tmp_path: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    bad = root / "a.csv"  # bad rows: extra fields, bytes that are not UTF-8, an empty text, a quoted newline
    bad.write_bytes(b"id,text\n1,I am so happy today\n2,\"I hate this, and I am angry\"\n3,too,many,fields\n"
                    b"4,bad \xff\xfe bytes here\n5,\n6,\"two\nlines of love\"\n")
    pd.DataFrame({"id": range(10, 40), "text": _texts(10, 30)}).to_csv(root / "b.csv", index=False)
    pd.DataFrame({"id": range(40, 70), "text": _texts(40, 30)}).to_csv(root / "c.csv", index=False)
    files = sorted(root.glob("*.csv"))
    refs = local_reference(files, model, tmp_path, cluster.env)

    done = affectkit_cli(["analyze", root, "-o", f"{tmp_path / 'out'}/", "-m", model, "--engine", "ray",
                          "--ray-address", cluster.address], cluster.env)
    assert done.returncode == 0, done.stderr
    assert "(ray, 2 worker(s)): 3 partition(s): 3 computed" in done.stderr
    manifest = assert_same_as_reference(tmp_path / "out", refs, 66)
    got = pd.read_parquet(tmp_path / "out" / "a.parquet")
    assert "expected 2 fields" in got["error"][2] and "invalid UTF-8" in got["error"][3]

    # one file in, one file out: byte for byte what the local engine writes
    local_csv, ray_csv = tmp_path / "local.csv", tmp_path / "ray.csv"
    assert affectkit_cli(["analyze", bad, "-o", local_csv, "-m", model, "-q"], cluster.env).returncode == 0
    done = affectkit_cli(["analyze", bad, "-o", ray_csv, "-m", model, "--engine", "ray", "--ray-address",
                          cluster.address, "-q"], cluster.env)
    assert done.returncode == 0, done.stderr
    assert ray_csv.read_bytes() == local_csv.read_bytes()
    assert all(r["worker"] for r in manifest["partitions"])
    # the options reach the workers: a decision rule changed on the command line changes both engines alike
    every = ["--labels", "plutchik", "--at-least-one-label", "-q"]
    local_every, ray_every = tmp_path / "local_every.csv", tmp_path / "ray_every.csv"
    assert affectkit_cli(["analyze", bad, "-o", local_every, "-m", model, *every], cluster.env).returncode == 0
    assert affectkit_cli(["analyze", bad, "-o", ray_every, "-m", model, "--engine", "ray", "--ray-address",
                          cluster.address, *every], cluster.env).returncode == 0
    assert ray_every.read_bytes() == local_every.read_bytes()
    rows = pd.read_csv(local_every, keep_default_na=False)
    dist = rows[[c for c in rows.columns if c.startswith("p_")]].apply(pd.to_numeric, errors="coerce")
    emotional = dist.fillna(0).sum(axis=1) > 0
    assert ((rows["labels"] != "") == ((rows["error"] == "") & emotional)).all()  # all but failed rows labelled


@pytest.fixture(scope="module")
def six_partitions(cluster: Cluster, model: str, tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("six")
    files = make_partitions(base / "in", 6)
    return base / "in", local_reference(files, model, base, cluster.env, chunk_size=6, batch_size=6)


def test_a_killed_worker_loses_and_duplicates_no_rows(cluster: Cluster, model: str, six_partitions,
                                                      tmp_path: Path) -> None:
    root, refs = six_partitions
    out = tmp_path / "out"
    proc = start_cli(["analyze", root, "-o", f"{out}/", "-m", model, "--engine", "ray", "--ray-address",
                      cluster.address, "--workers", "2", "--chunk-size", "6", "--batch-size", "6", "-q"], cluster.env)
    try:
        def busy_worker_mid_job():
            workers = {p: _title(p) for p in _marked_pids(cluster.marker)
                       if _title(p).startswith("ray::PartitionWorker")}
            busy = [p for p, t in workers.items() if t.endswith(".run")]
            finished = list(out.glob("day=*/posts.parquet"))
            return (busy[0], set(workers)) if busy and 1 <= len(finished) <= 4 else None

        victim, before = _wait_for(busy_worker_mid_job, JOB_TIMEOUT, "a worker busy mid-job", proc)
        os.kill(victim, signal.SIGKILL)
        output, _ = proc.communicate(timeout=JOB_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    manifest = assert_same_as_reference(out, refs, 6 * ROWS)
    writers = {int(r["worker"].rsplit(":", 1)[1]) for r in manifest["partitions"]}
    assert writers - before, f"no partition was finished by the restarted actor: {writers} vs {before}"
    assert victim not in _marked_pids(cluster.marker)


def test_a_stopped_job_restarts_and_skips_verified_partitions(cluster: Cluster, model: str, six_partitions,
                                                              tmp_path: Path) -> None:
    root, refs = six_partitions
    out = tmp_path / "out"
    args = ["analyze", root, "-o", f"{out}/", "-m", model, "--engine", "ray", "--ray-address", cluster.address,
            "--workers", "2", "--chunk-size", "6", "--batch-size", "6"]
    proc = start_cli(args, cluster.env)
    try:
        def two_recorded():
            try:
                m = json.loads((out / "_manifest.json").read_text())
            except (OSError, ValueError):
                return None
            return m if m["partitions_ok"] >= 2 and not m["complete"] else None

        _wait_for(two_recorded, JOB_TIMEOUT, "two partitions in the manifest", proc)
        proc.kill()  # a hard stop of the driver: its actors go with it
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    recorded = json.loads((out / "_manifest.json").read_text())["partitions_ok"]
    done = affectkit_cli(args, cluster.env)
    assert done.returncode == 0, done.stderr
    skipped = int(done.stderr.split(" verified from an earlier run")[0].rsplit(", ", 1)[1])
    assert skipped >= recorded >= 2, done.stderr
    assert_same_as_reference(out, refs, 6 * ROWS)


def test_an_unreadable_partition_is_reported_and_the_job_is_incomplete(cluster: Cluster, model: str,
                                                                       tmp_path: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    for k in range(3):
        pd.DataFrame({"id": range(k * 5, k * 5 + 5), "text": _texts(k * 5, 5)}).to_parquet(root / f"p{k}.parquet")
    (root / "p1.parquet").write_bytes(b"PAR1\x00\x01 truncated")
    done = affectkit_cli(["analyze", root, "-o", f"{tmp_path / 'out'}/", "-m", model, "--engine", "ray",
                          "--ray-address", cluster.address], cluster.env)
    assert done.returncode == 3, done.stderr
    assert "1 of 3 partition(s) failed" in done.stderr and f"{root / 'p1.parquet'}: " in done.stderr
    assert "2 computed, 0 verified from an earlier run, 1 failed" in done.stderr
    manifest = json.loads((tmp_path / "out" / "_manifest.json").read_text())
    assert [r["status"] for r in manifest["partitions"]] == ["ok", "failed", "ok"]
    assert [len(pd.read_parquet(tmp_path / "out" / f"p{k}.parquet")) for k in (0, 2)] == [5, 5]


def test_without_an_address_a_local_ray_is_started(ray_env: tuple[dict[str, str], str], model: str,
                                                   tmp_path: Path) -> None:
    env, _ = ray_env
    files = make_partitions(tmp_path / "in", 2, rows=10)
    refs = local_reference(files, model, tmp_path, env)
    # relative paths: workers do not run in the driver's folder
    args = ["analyze", "in", "-o", "out/", "-m", model, "--engine", "ray", "--cpus-per-worker", "1", "--workers", "1"]
    done = affectkit_cli(args, env, cwd=tmp_path)
    if "timed out during startup" in done.stderr:  # Ray's fixed 30 s for a new node, on a starved machine
        done = affectkit_cli(args, env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "(ray, 1 worker(s)): 2 partition(s): 2 computed" in done.stderr
    # no spurious lines: Ray's error about actors restarted with constructor arguments in the object store, its
    # notice about token authentication
    assert "max_restarts > 0" not in done.stderr and "Token authentication" not in done.stderr, done.stderr
    assert_same_as_reference(tmp_path / "out", refs, 20)


POISON_DRIVER = '''
import os, sys
from affectkit.distributed import AnalyzeJob, run_partitioned
from affectkit.distributed.ray_engine import RayExecutor
from affectkit.errors import IncompleteJobError
from affectkit.runner import AnalyzeOptions


class PoisonJob(AnalyzeJob):
    """Kills its own worker process on the partition named poison.csv, as an out-of-memory kill would."""

    def run(self, state, partition, target, fmt):
        if partition.key == "poison.csv":
            os._exit(137)
        return super().run(state, partition, target, fmt)


address, model, root, out = sys.argv[1:5]
try:
    run_partitioned(PoisonJob(model, AnalyzeOptions()), root, out, RayExecutor(address, workers=2,
                    max_task_retries=1, quiet=True), progress=False)
except IncompleteJobError as e:
    print(e)
    sys.exit(e.exit_code)
'''


def test_a_partition_that_kills_its_worker_every_time_fails_alone(cluster: Cluster, tmp_path: Path) -> None:
    lexicon = tmp_path / "lexicon.tsv"
    lexicon.write_text("happy\tjoy\t1\n", encoding="utf-8")
    root = tmp_path / "in"
    root.mkdir()
    for name in ("a.csv", "poison.csv", "z.csv"):
        pd.DataFrame({"id": [1, 2], "text": ["so happy", "sad"]}).to_csv(root / name, index=False)
    done = subprocess.run([sys.executable, "-c", POISON_DRIVER, cluster.address, f"lexicon:{lexicon}", str(root),
                           f"{tmp_path / 'out'}/"], env=cluster.env, capture_output=True, text=True,
                          timeout=JOB_TIMEOUT)
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"{root / 'poison.csv'}: no result: the worker processing it died on every attempt" in done.stdout
    manifest = json.loads((tmp_path / "out" / "_manifest.json").read_text())
    assert [(r["key"], r["status"]) for r in manifest["partitions"]] == [
        ("a.csv", "ok"), ("poison.csv", "failed"), ("z.csv", "ok")]


# -- rank and eval on the cluster ---------------------------------------------------------------------------------
def test_rank_on_two_nodes_equals_the_local_ranking_and_restarts(cluster: Cluster, model: str,
                                                                  tmp_path: Path) -> None:
    """Each partition scored and sorted on a worker, merged on the driver: the local engine's ranking of the same
    rows, byte for byte; a partition that failed is redone on the rerun and the others are verified."""
    files = make_partitions(tmp_path / "in", 3, rows=30)
    whole = tmp_path / "whole.csv"
    pd.concat([pd.read_csv(f, dtype=str) for f in files]).to_csv(whole, index=False)
    # chunks of 6 divide the 30-row partitions: each text is in the same model batch as in the local run (the
    # int8 model quantises activations per batch); --memory-rows 25 writes the ranking in several blocks
    by = ["--by", "sadness" if REAL_MODEL else "anger", "-m", model, "--memory-rows", "25", "--chunk-size", "6"]
    ray = ["--engine", "ray", "--ray-address", cluster.address]
    for cut in ([], ["--top", "10"]):
        local, merged = tmp_path / "local.csv", tmp_path / "ray.csv"
        assert affectkit_cli(["rank", whole, "-o", local, *by, *cut, "-q"], cluster.env).returncode == 0
        done = affectkit_cli(["rank", tmp_path / "in", "-o", merged, *by, *cut, *ray], cluster.env)
        assert done.returncode == 0, done.stderr
        assert "(ray, 2 worker(s)): 3 partition(s): 3 computed" in done.stderr
        assert merged.read_bytes() == local.read_bytes()
        assert len(pd.read_csv(merged)) == (10 if cut else 90)
    # a partition that cannot be scored (no text column) fails alone; fixed, it is the only one computed again
    bad = tmp_path / "in" / "day=03" / "posts.csv"
    bad.parent.mkdir()
    bad.write_text("id,body\n1000,I am so angry at the long queue\n")
    out = tmp_path / "restart.csv"
    done = affectkit_cli(["rank", tmp_path / "in", "-o", out, *by, *ray], cluster.env)
    assert done.returncode == 3 and "1 of 4 partition(s) failed" in done.stderr, done.stderr
    bad.write_text("id,text\n1000,I am so angry at the long queue\n")
    done = affectkit_cli(["rank", tmp_path / "in", "-o", out, *by, *ray], cluster.env)
    assert done.returncode == 0, done.stderr
    assert "1 computed, 3 verified from an earlier run" in done.stderr
    pd.concat([pd.read_csv(whole, dtype=str), pd.read_csv(bad, dtype=str)]).to_csv(whole, index=False)
    assert affectkit_cli(["rank", whole, "-o", tmp_path / "local.csv", *by, "-q"], cluster.env).returncode == 0
    assert out.read_bytes() == (tmp_path / "local.csv").read_bytes()


def test_eval_on_two_nodes_gives_the_local_metrics_and_restarts(cluster: Cluster, tmp_path: Path) -> None:
    """One unit per (task, model) pair on the workers, scored on the driver: the same results.json (timings
    aside) and per-sample predictions as the local run; a rerun verifies every unit instead of predicting."""
    sys.path.insert(0, str(Path(__file__).parent))
    from eval_support import EVAL_FIXTURES
    from test_distributed import comparable_results

    env = {**cluster.env, "AFFECTKIT_DATA": str(EVAL_FIXTURES)}
    args = ["eval", "-m", f"lexicon:{EVAL_FIXTURES / 'lexicon_emolex.txt'}", "-m", "baseline:vader", "--task",
            "semeval2018-ec", "--task", "emotion-cause", "--task", "eemo-ranking", "--bootstrap", "30",
            "--no-baselines", "--chunk-size", "2", "--batch-size", "2"]
    local = affectkit_cli([*args, "-o", tmp_path / "local", "-q"], env)
    assert local.returncode == 0, local.stderr
    # the workers find the data through the job's runtime_env, as on a real cluster
    ray = [*args, "-o", tmp_path / "ray", "--engine", "ray", "--ray-address", cluster.address, "--ray-runtime-env",
           json.dumps({"env_vars": {"AFFECTKIT_DATA": str(EVAL_FIXTURES)}})]
    done = affectkit_cli(ray, env)
    assert done.returncode == 0, done.stderr
    expected = comparable_results(tmp_path / "local")
    ok = [r for r in expected["results"] if r["status"] == "ok"]
    manifest = json.loads((tmp_path / "ray" / "_manifest.json").read_text())
    units = len(manifest["partitions"])
    assert manifest["complete"] and units >= len(ok) >= 2
    assert f"(ray, 2 worker(s)): {units} partition(s): {units} computed" in done.stderr
    assert comparable_results(tmp_path / "ray") == expected
    for r in ok:
        assert (tmp_path / "ray" / r["predictions"]).read_bytes() == \
            (tmp_path / "local" / r["predictions"]).read_bytes()
    again = affectkit_cli(ray, env)
    assert again.returncode == 0, again.stderr
    assert f"0 computed, {units} verified from an earlier run" in again.stderr
    assert comparable_results(tmp_path / "ray") == expected
