"""`video-split --checkpoint-dir` killed with SIGKILL at random moments, resumed each time.

Every run joins one loopback Ray cluster started for the test (a driver's embedded Ray would
cost each of the ~40 runs its start-up). At seeded random moments the driver is frozen and
killed; every other kill takes the run's stage workers (the processes that write the clips)
with it at the same moment, the others leave them to Ray, which must end a dead driver's
actors: after each kill the cluster must list no job, no worker of the run may live and all
its CPUs must be free again before the run is resumed with `--resume`. Each moment is drawn
within the working span of an uninterrupted run (from its first output file to its exit, the
span in which files are written; start-up writes nothing), counted from the killed run's own
first write. A run that finishes before its kill moment closes an episode: its output is
checked, and the next run starts a fresh output and checkpoint. After every episode:
- the journal lists every input position exactly once, and every line of it parses;
- every video has all its clips (the same clip ids as the uninterrupted run);
- every published clip decodes (PyAV), and every clip a metadata file names exists with the
  size the metadata records.
Inputs are tiny generated videos and the splitter is the CPU frame-difference `shot`
detector with no model stages, so most of each run is the driver's start-up.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import av
import psutil
import pytest
from tests.cluster.cluster_helpers import Loopback, wait_for
from tests.pipelines.video import _ffmpeg_inputs as media

from cosmos_curate.cluster.status import cluster_status

# Each run pays a driver's start-up and its stage workers': about 10 s on a quiet 2-core machine.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

KILLS = 20
SEED = 2024
VIDEOS = 3
ROOT = Path(__file__).resolve().parents[3]


def _inputs(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for i in range(VIDEOS):
        media.ffmpeg(
            "-f", "lavfi", "-i", f"testsrc=size=160x90:rate=10:duration={3 + i}",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            str(folder / f"v{i}.mp4"),
        )  # fmt: skip
    return folder


def _start(
    cluster: Loopback, inputs: Path, episode: Path, runs: Path, *, resume: bool
) -> subprocess.Popen[bytes]:
    """The `curate pipeline run video-split` driver on `cluster`, in a session of its own."""
    env = {**cluster.env, "CURATE_RUNS_DIR": str(runs)}
    args = [
        "--input-path", str(inputs), "--output-path", str(episode / "out"),
        "--checkpoint-dir", str(episode / "ckpt"), "--splitting-algorithm", "shot",
        "--no-embeddings", "--skip-captions", "--motion-filter", "disable",
        "--min-clip-len-s", "0.5", "--min-clip-len-frames", "0", "--crop-s", "0",
        "--max-clip-len-s", "1", "--workers-per-stage", "1", "--no-progress",
        "--metrics-port", "0",
    ]  # fmt: skip
    if resume:
        args.append("--resume")
    log = (episode / "driver.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "cosmos_curate.cli.main", "pipeline", "run", "video-split", *args],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def _mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:  # a temporary file renamed meanwhile
        return 0


def _first_write(out: Path, since: float, driver: subprocess.Popen[bytes]) -> float | None:
    """When the driver first wrote under `out` (monotonic clock), or None when it exited."""
    since_ns = int(since * 1e9)
    while driver.poll() is None:
        if out.is_dir() and any(_mtime_ns(p) > since_ns for p in out.rglob("*")):
            return time.monotonic()
        time.sleep(0.05)
    return None


def _freeze_tree(root_pid: int) -> list[psutil.Process]:
    """SIGSTOP the driver and, until no new one appears, every descendant; returns them all.

    A stopped process cannot start another, so the tree is complete when this returns.
    """
    stopped: dict[int, psutil.Process] = {}
    frontier = [root_pid]
    while frontier:
        for pid in frontier:
            try:
                proc = psutil.Process(pid)
                proc.send_signal(signal.SIGSTOP)
                stopped[pid] = proc
            except psutil.NoSuchProcess:
                continue
        frontier = []
        for proc in list(stopped.values()):
            try:
                frontier += [c.pid for c in proc.children() if c.pid not in stopped]
            except psutil.NoSuchProcess:
                continue
    return list(stopped.values())


def _raylet(cluster: Loopback) -> psutil.Process:
    record = cluster.state.head.find("raylet")
    raylet = record.live() if record is not None else None
    assert raylet is not None, "the loopback cluster's raylet is not running"
    return raylet


def _run_workers(cluster: Loopback) -> list[psutil.Process]:
    """The cluster's worker processes that serve a job (Ray sets RAY_JOB_ID in their
    environment) and are not idle; only one run uses the cluster at a time, so they are
    that run's. (An idle worker, `ray::IDLE`, runs nothing and holds no CPU; Ray may keep
    one started for a job after the job ended.)"""
    found = []
    for proc in _raylet(cluster).children():
        with contextlib.suppress(psutil.Error, IndexError):
            if (
                "RAY_JOB_ID" in proc.environ()
                and proc.status() != psutil.STATUS_ZOMBIE
                and not proc.cmdline()[0].startswith("ray::IDLE")
            ):
                found.append(proc)
    return found


def _kill_all(driver: subprocess.Popen[bytes], cluster: Loopback, *, workers: bool) -> None:
    """SIGKILL the driver and every process it started (by PID), with `workers` also the
    run's stage workers on the cluster, at one moment; reap them."""
    tree = _freeze_tree(driver.pid)
    if workers:
        tree += [p for w in _run_workers(cluster) for p in _freeze_tree(w.pid)]
    with contextlib.suppress(ProcessLookupError):
        os.killpg(driver.pid, signal.SIGKILL)
    for proc in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    driver.wait(timeout=60)
    _, alive = psutil.wait_procs(tree, timeout=30)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], alive


def _released(cluster: Loopback) -> str:
    """What a killed run still holds on the cluster ('' once Ray has cleaned up after it)."""
    status = cluster_status(cluster.state.address)
    busy = [f"{n.ip}: {n.cpus_free:g}/{n.cpus:g} CPUs free" for n in status.nodes
            if n.alive and n.cpus_free < n.cpus]  # fmt: skip
    jobs = [f"job {j.job_id} (driver pid {j.driver_pid})" for j in status.jobs]
    workers = [f"worker pid {p.pid}" for p in _run_workers(cluster)]
    return ", ".join(jobs + workers + busy)


def _wait_released(cluster: Loopback) -> None:
    """Ray ends a dead driver's job and actors: the next run must get every CPU."""
    assert wait_for(lambda: not _released(cluster), timeout=120), _released(cluster)


def _journal_positions(ckpt: Path) -> Counter[int]:
    counts: Counter[int] = Counter()
    for line in (ckpt / "journal.jsonl").read_text().splitlines():
        for start, end in json.loads(line)["done"]:  # every line parses after a resume
            counts.update(range(start, end))
    return counts


def _decodes(path: Path) -> bool:
    try:
        with av.open(str(path)) as container:
            return sum(1 for _ in container.decode(video=0)) > 0
    except av.FFmpegError:
        return False


def _check_episode(episode: Path, expected_clips: set[str]) -> None:
    out = episode / "out"
    positions = _journal_positions(episode / "ckpt")
    assert positions == Counter(range(VIDEOS)), f"{episode.name}: journal {positions}"
    metas = {p.stem: json.loads(p.read_text()) for p in (out / "metas").glob("*.json")}
    assert set(metas) == expected_clips, episode.name
    for clip_id, meta in metas.items():
        clip = out / meta["clip_path"]
        assert clip.is_file(), f"{episode.name}: {clip_id} names a missing clip"
        assert clip.stat().st_size == meta["num_bytes"] > 0, f"{episode.name}: {clip_id} short"
    clips = sorted((out / "clips").glob("*.mp4"))
    broken = [c.name for c in clips if not _decodes(c)]
    assert not broken, f"{episode.name}: published clips that do not decode: {broken}"


def _run_or_kill(
    cluster: Loopback,
    driver: subprocess.Popen[bytes],
    episode: Path,
    wall: float,
    *,
    moment: float,
    spent: defaultdict[str, float],
    workers: bool,
) -> int | None:
    """Let the driver work `moment` seconds past its first write, then kill it (and with
    `workers` its stage workers) and wait until the cluster is free: None. A driver that
    exits first: its exit code. Adds the seconds of each phase to `spent`."""
    mark = time.monotonic()
    written = _first_write(episode / "out", wall, driver)
    spent["start-up"] += time.monotonic() - mark
    mark = time.monotonic()
    try:
        rc = driver.wait(timeout=None if written is None else moment)
    except subprocess.TimeoutExpired:
        spent["working"] += time.monotonic() - mark
        mark = time.monotonic()
        _kill_all(driver, cluster, workers=workers)
        _wait_released(cluster)
        spent["kill and release"] += time.monotonic() - mark
        return None
    spent["working"] += time.monotonic() - mark
    return rc


def test_sigkill_at_random_moments_then_resume_loses_and_repeats_nothing(
    loopback_cluster: Loopback, tmp_path: Path
) -> None:
    """20 kills of the driver (every other one with its workers); every episode ends complete
    and consistent, and no kill leaves the cluster's CPUs held."""
    cluster = loopback_cluster
    started = time.monotonic()
    inputs, runs = _inputs(tmp_path / "in"), tmp_path / "runs"
    baseline = tmp_path / "baseline"
    baseline.mkdir()
    t0, wall0 = time.monotonic(), time.time()
    driver = _start(cluster, inputs, baseline, runs, resume=False)
    first = _first_write(baseline / "out", wall0, driver)
    assert driver.wait(timeout=600) == 0 and first is not None
    span = time.monotonic() - first
    expected = {p.stem for p in (baseline / "out" / "metas").glob("*.json")}
    assert len(expected) == sum(3 + i for i in range(VIDEOS))  # 1 s clips
    _check_episode(baseline, expected)

    rng = random.Random(SEED)
    kills = resumes = 0
    spent: defaultdict[str, float] = defaultdict(float)  # seconds per phase, printed at the end
    episodes: list[Path] = []
    episode, fresh = tmp_path / "episode-0", True
    while True:
        if fresh:
            episode.mkdir()
            episodes.append(episode)
        wall, mark = time.time(), time.monotonic()
        driver = _start(cluster, inputs, episode, runs, resume=not fresh)
        resumes += not fresh
        if kills == KILLS:  # the last resume runs to the end
            assert driver.wait(timeout=600) == 0
            spent["last run"] += time.monotonic() - mark
            _check_episode(episode, expected)
            break
        moment = rng.uniform(0.0, span)
        rc = _run_or_kill(
            cluster, driver, episode, wall, moment=moment, spent=spent, workers=kills % 2 == 0
        )
        if rc is None:  # killed: resume it
            kills += 1
            fresh = False
            continue
        assert rc == 0, (episode / "driver.log").read_text()[-3000:]
        _check_episode(episode, expected)  # finished before its kill: a new episode
        episode, fresh = tmp_path / f"episode-{len(episodes)}", True
    print(
        f"\ncrash loop: {kills} kills, {resumes} resumes, {len(episodes)} episodes, "
        f"{VIDEOS} inputs, run {first - t0:.1f} s to first write + {span:.1f} s working, "
        f"wall {time.monotonic() - started:.0f} s; "
        + ", ".join(f"{phase} {seconds:.0f} s" for phase, seconds in spent.items())
    )


def test_resume_runs_a_video_the_journal_missed_after_finished_ones(
    ray_cluster: dict[str, object], tmp_path: Path
) -> None:
    """Killed after v1's files were written but before the journal recorded it, and before
    v2 ran: the resumed run must still make v2's clips. (Skipping finished videos before the
    journal shifted v2 to position 0, which the journal lists, so v2 was never split.)"""
    from cosmos_curate.pipelines import registry

    inputs = _inputs(tmp_path / "in")
    out, ckpt = tmp_path / "out", tmp_path / "ckpt"
    entry = registry.get_pipeline("video-split")
    raw = {
        "input_path": str(inputs), "output_path": str(out), "splitting_algorithm": "shot",
        "no_embeddings": True, "skip_captions": True, "motion_filter": "disable",
        "min_clip_len_s": 0.5, "min_clip_len_frames": 0, "crop_s": 0.0, "max_clip_len_s": 1.0,
        "workers_per_stage": 1,
    }  # fmt: skip
    options = registry.parse_options(entry, raw)
    entry.run(options, registry.RunOptions(metrics_port=None, checkpoint_dir=ckpt))
    v2 = {p.name for p in (out / "metas").glob("v2-*.json")}
    assert len(v2) == 5
    for name in v2:  # v2 never ran ...
        (out / "metas" / name).unlink()
    (ckpt / "journal.jsonl").write_text('{"done":[[0,1]]}\n')  # ... and v1 was not journaled
    entry.run(options, registry.RunOptions(metrics_port=None, checkpoint_dir=ckpt, resume=True))
    assert {p.name for p in (out / "metas").glob("v2-*.json")} == v2
    assert _journal_positions(ckpt) == Counter(range(VIDEOS))
