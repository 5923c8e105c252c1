"""Media jobs at scale (issue 16): resumable chunked output, and ``--engine ray`` with the local engine's bytes.

Images are drawn here with PIL (plus one truncated file and, in tables, a missing path). The interrupted run is a
real one: the CLI in a subprocess whose ``analyze_media`` kills its own process with SIGKILL when it reaches a
given chunk (no cleanup runs, as with a power cut or an OOM kill); the rerun is the same command. The Ray tests
start a private local Ray per command (``--workers`` 1 or 2), with the environment and teardown of
tests/test_distributed_ray.py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT
from PIL import Image, ImageDraw

HAS_RAY = importlib.util.find_spec("ray") is not None and sys.platform.startswith("linux")
if HAS_RAY:
    from test_distributed_ray import affectkit_cli, ray_env  # noqa: F401 - ray_env is a fixture used below

needs_ray = pytest.mark.skipif(not HAS_RAY, reason="needs ray (pip install 'affectkit[ray]') on Linux")
MODEL = "scene"  # fast, and no face detection to tune: valence and arousal per image
ENV = {"AFFECTKIT_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}

# the CLI, with a spy on analyze_media: it logs each chunk's first row, and kills this process (SIGKILL) when it
# reaches the chunk starting at $KILL_AT
DRIVER = '''
import json, os, signal, sys
import affectkit.media.cli as media_cli

real = media_cli.analyze_media

def spy(frame, path_col, analyzer, options, segments, offset=0):
    if os.environ.get("KILL_AT") and offset >= int(os.environ["KILL_AT"]):
        os.kill(os.getpid(), signal.SIGKILL)
    with open(os.environ["CHUNK_LOG"], "a") as f:
        f.write(json.dumps(offset) + "\\n")
    return real(frame, path_col, analyzer, options, segments, offset)

media_cli.analyze_media = spy
from affectkit.cli import main
sys.exit(main(sys.argv[1:]))
'''


def draw_images(folder: Path, n: int = 5) -> list[Path]:
    """``n`` small images (a disc on a background, a different colour each) and one truncated file at the end."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        im = Image.new("RGB", (48, 40), (40 * i, 200 - 30 * i, 90 + 20 * i))
        ImageDraw.Draw(im).ellipse((6, 4, 40, 36), fill=(230, 190 - 10 * i, 150))
        im.save(folder / f"img{i}.png")
        files.append(folder / f"img{i}.png")
    (folder / "zz_cut.png").write_bytes(files[0].read_bytes()[:60])
    return [*files, folder / "zz_cut.png"]


def cli(args: list, cwd: Path, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **ENV, **(extra or {})}
    return subprocess.run([sys.executable, "-m", "affectkit", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def driver(args: list, cwd: Path, log: Path, kill_at: int | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **ENV, "CHUNK_LOG": str(log), "KILL_AT": "" if kill_at is None else str(kill_at)}
    log.unlink(missing_ok=True)
    return subprocess.run([sys.executable, "-c", DRIVER, *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def offsets(log: Path) -> list[int]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.mark.parametrize("out_name,segments", [("out.csv", False), ("out.parquet", True)])
def test_an_interrupted_media_job_resumes_after_its_last_finished_chunk(tmp_path: Path, out_name: str,
                                                                      segments: bool) -> None:
    draw_images(tmp_path / "imgs")
    args = ["analyze", "imgs", "-o", out_name, "-m", MODEL, "--chunk-size", "2",
            *(["--segments"] if segments else [])]
    clean = cli([*args[:3], "clean-" + out_name, *args[4:], "-q"], tmp_path)
    assert clean.returncode == 0, clean.stderr
    log = tmp_path / "chunks.log"
    parts = tmp_path / (out_name + ".affectkit-parts")

    killed = driver(args, tmp_path, log, kill_at=4)  # 6 files in chunks of 2: killed in the third chunk
    assert killed.returncode == -9, killed.stderr
    assert offsets(log) == [0, 2] and not (tmp_path / out_name).exists()
    assert len(list(parts.glob("part-*"))) == 2

    again = driver(args, tmp_path, log)  # the same command: only the third chunk is analyzed
    assert again.returncode == 0, again.stderr
    assert offsets(log) == [4], again.stderr
    assert "resumed after 2 finished chunk(s)" in again.stderr and "1 with errors" in again.stderr
    assert (tmp_path / out_name).read_bytes() == (tmp_path / ("clean-" + out_name)).read_bytes()
    assert not parts.exists()

    # a changed input file is a new job: interrupted again, then rerun, every chunk is analyzed anew
    (tmp_path / out_name).unlink()
    assert driver(args, tmp_path, log, kill_at=4).returncode == -9
    Image.new("RGB", (48, 40), (255, 0, 0)).save(tmp_path / "imgs" / "img0.png")
    again = driver(args, tmp_path, log)
    assert again.returncode == 0, again.stderr
    assert offsets(log) == [0, 2, 4] and "resumed" not in again.stderr
    changed = pd.read_parquet(tmp_path / out_name) if segments else pd.read_csv(tmp_path / out_name)
    before = pd.read_parquet(tmp_path / ("clean-" + out_name)) if segments else pd.read_csv(
        tmp_path / ("clean-" + out_name))
    assert changed["valence"][0] != before["valence"][0]
    pd.testing.assert_frame_equal(changed.iloc[1:], before.iloc[1:])


def test_chunked_output_keeps_rows_order_and_the_error_rows(tmp_path: Path) -> None:
    """Chunks of one file to stdout and to a file: every input in order, the bad ones with their reason; the media
    job on the partitioned engine's in-process executor writes the same bytes as the local loop."""
    from affectkit.distributed import LocalExecutor, run_partitioned
    from affectkit.distributed.media_job import MediaJob, MediaRequest
    from affectkit.errors import InputError
    from affectkit.media.cli import media_input, run_media
    from affectkit.runner import AnalyzeOptions

    files = draw_images(tmp_path / "imgs", 3)
    pd.DataFrame({"id": [3, 1, 2], "file": ["imgs/img2.png", "imgs/missing.png", "imgs/zz_cut.png"]}).to_csv(
        tmp_path / "list.csv", index=False)
    done = cli(["analyze", "imgs", "-m", MODEL, "--chunk-size", "1", "-q"], tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["path"] for r in rows] == [str(f.relative_to(tmp_path)) for f in files]
    assert [r["error"] is None for r in rows] == [True, True, True, False]

    frame = media_input(str(tmp_path / "list.csv"), "file")
    assert frame is not None
    local, partitioned = tmp_path / "local.jsonl", tmp_path / "partitioned.jsonl"
    options = AnalyzeOptions()
    assert run_media(frame, str(local), MODEL, options, "file", True, None, True, chunk_size=2)[:2] == (3, 2)
    job = MediaJob(MODEL, MediaRequest(frame, "file", True, options), chunk_size=2)
    report = run_partitioned(job, "list.csv", partitioned, LocalExecutor(), progress=False)
    assert (report.rows, report.errors, report.partitions) == (3, 2, 2)
    assert partitioned.read_bytes() == local.read_bytes()
    got = [json.loads(line) for line in local.read_text().splitlines()]
    assert [r["id"] for r in got] == [3, 1, 2] and [r["parent"] for r in got] == [0, 1, 2]
    assert "no such file" in got[1]["error"] and "truncated" in got[2]["error"]
    with pytest.raises(InputError, match="write one file"):
        run_partitioned(job, "list.csv", tmp_path / "out_dir", LocalExecutor(), progress=False)
    refused = cli(["analyze", "imgs", "-m", MODEL, "--engine", "ray"], tmp_path)  # before any Ray starts
    assert refused.returncode == 1 and "pass -o FILE" in refused.stderr, refused.stderr


@needs_ray
def test_media_on_ray_gives_the_local_engines_bytes(ray_env: tuple[dict[str, str], str], tmp_path: Path) -> None:
    env, _ = ray_env
    draw_images(tmp_path / "imgs")
    pd.DataFrame({"id": [7, 8, 9], "file": ["imgs/img1.png", "imgs/nope.png", "imgs/img3.png"]}).to_csv(
        tmp_path / "list.csv", index=False)
    # relative paths: the workers read them from the driver's folder, and the rows keep them as given
    for args, workers in ((["imgs", "-o", "{}.csv"], "2"),
                          (["list.csv", "--path-col", "file", "--segments", "-o", "{}.jsonl"], "1")):
        chosen = ["-m", MODEL, "--chunk-size", "2"]
        local = cli(["analyze", *[a.format("local") for a in args], *chosen, "-q"], tmp_path)
        assert local.returncode == 0, local.stderr
        ray_args = ["analyze", *[a.format("ray") for a in args], *chosen, "--engine", "ray", "--workers", workers]
        done = affectkit_cli(ray_args, env, cwd=tmp_path)
        if "timed out during startup" in done.stderr:  # Ray's fixed 30 s for a new node, on a starved machine
            done = affectkit_cli(ray_args, env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        chunks = 3 if args[0] == "imgs" else 2
        assert f"analyze-media (ray, {min(int(workers), chunks)} worker(s)): {chunks} partition(s): {chunks} " \
               "computed" in done.stderr, done.stderr
        ext = args[-1].rsplit(".", 1)[1]
        assert (tmp_path / f"ray.{ext}").read_bytes() == (tmp_path / f"local.{ext}").read_bytes()
        assert not (tmp_path / f"ray.{ext}.affectkit-parts").exists()


POISON_DRIVER = '''
import sys
from affectkit.distributed.media_job import MediaJob, MediaRequest
from affectkit.distributed import run_partitioned
from affectkit.distributed.ray_engine import RayExecutor
from affectkit.errors import IncompleteJobError
from affectkit.media.cli import media_input
from affectkit.runner import AnalyzeOptions


class PoisonJob(MediaJob):
    """Fails the second chunk, as a worker that lost its disk would."""

    def run(self, state, partition, target, fmt):
        if partition.key == "chunk-00000001":
            raise OSError("disk gone")
        return super().run(state, partition, target, fmt)


job = PoisonJob("scene", MediaRequest(media_input("imgs", None), "path", False, AnalyzeOptions()), chunk_size=2)
try:
    run_partitioned(job, "imgs", "ray.csv", RayExecutor(workers=1, quiet=True), progress=False)
except IncompleteJobError as e:
    print(e)
    sys.exit(e.exit_code)
'''


@needs_ray
def test_a_failed_chunk_on_ray_is_the_only_one_computed_again(ray_env: tuple[dict[str, str], str],
                                                              tmp_path: Path) -> None:
    env, _ = ray_env
    draw_images(tmp_path / "imgs")
    args = ["analyze", "imgs", "-m", MODEL, "--chunk-size", "2"]
    assert cli([*args, "-o", "local.csv", "-q"], tmp_path).returncode == 0
    failed = subprocess.run([sys.executable, "-c", POISON_DRIVER], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert failed.returncode == 3, failed.stdout + failed.stderr
    assert "1 of 3 partition(s) failed" in failed.stdout and "rows 3-4: imgs/img2.png ...: OSError: disk gone" \
        in failed.stdout, failed.stdout
    assert not (tmp_path / "ray.csv").exists()
    manifest = json.loads((tmp_path / "ray.csv.affectkit-parts" / "_manifest.json").read_text())
    assert [r["status"] for r in manifest["partitions"]] == ["ok", "failed", "ok"]

    done = affectkit_cli([*args, "-o", "ray.csv", "--engine", "ray", "--workers", "1"], env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "3 partition(s): 1 computed, 2 verified from an earlier run, 0 failed" in done.stderr, done.stderr
    assert (tmp_path / "ray.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
