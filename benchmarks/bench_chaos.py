"""Chaos run: a local multi-node cluster, one run without faults, then the same run while a
random stage worker is SIGKILLed every few seconds and one worker node's raylet is SIGKILLed
once (at ~40% of the outputs). Prints tasks in / out, duplicates, missing, failure records
and wall time of both runs as a Markdown table.

    python benchmarks/bench_chaos.py [--tasks 10000] [--kill-every 3] [--workers 2]

The cluster (head + `--workers` worker nodes, 2 CPUs each, all on 127.0.0.x) is started
with `curate cluster start` and stopped by PID with `curate cluster stop`, even on error.
Each run is a driver subprocess (this file with `--driver`) running 3 sleep stages of
`--work-ms` per task; it writes every output's id so duplicates and missing ids can be
counted, and the engine's failure records so lost tasks can be matched to their ids. Only
processes this script started, or Ray worker processes descended from its cluster's node
processes, are ever signalled. Nothing is written outside a temporary folder (removed at
the end unless `--keep`).
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import psutil

BENCH_DIR = Path(__file__).resolve().parent
ROOT_DIR = BENCH_DIR.parent
CLUSTER_TESTS = ROOT_DIR / "tests" / "cluster"
sys.path.insert(0, str(CLUSTER_TESTS))

from cosmos_curate.core.interfaces.stage_interface import (  # noqa: E402
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)

STAGES = ("decode", "transform", "encode")
CPUS_PER_WORKER = 1.0
NODE_KILL_AT = 0.4
POLL_S = 0.2
_ITEM_ID = re.compile(r"item_id=(\d+)")


# ---- the pipeline (imported by the driver and by Ray workers as module `bench_chaos`) ----
@attrs.define
class ChaosTask(PipelineTask):
    """One input id plus the names of the stages that processed it (for the output check)."""

    item_id: int
    trail: list[str] = attrs.field(factory=list)


class WorkStage(CuratorStage[ChaosTask, ChaosTask]):
    """Sleeps `work_s` per task (the cost of I/O or an accelerator) and stamps its name."""

    def __init__(self, name: str, work_s: float, cpus: float = CPUS_PER_WORKER) -> None:
        self._name, self._work_s, self._cpus = name, work_s, cpus

    @property
    def name(self) -> str:
        return self._name

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=self._cpus)

    def process_data(self, tasks: list[ChaosTask]) -> list[ChaosTask]:
        for task in tasks:
            time.sleep(self._work_s)
            task.trail.append(self._name)
        return tasks


def _inputs(n: int) -> Iterator[ChaosTask]:
    for i in range(n):
        yield ChaosTask(i)


def driver_main(out_dir: Path, address: str, n_tasks: int, work_ms: float) -> int:
    """The driver subprocess: run the pipeline, write result.json (and progress as it goes)."""
    import bench_chaos  # by module name, so Ray workers unpickle the stages by reference

    from cosmos_curate.core.interfaces.errors import CurateError
    from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s.%(msecs)03d %(levelname)s %(name)s: %(message)s"
    )
    stages = [bench_chaos.WorkStage(name, work_ms / 1000) for name in STAGES]
    progress_path = out_dir / "progress.json"

    def write_progress(progress: Any) -> None:
        payload = {
            "t": time.time(),
            "outputs": progress.outputs,
            "failures": progress.failures,
            "inputs_read": progress.inputs_read,
            "workers_lost": sum(s.workers_lost for s in progress.stages),
            "stages": {
                s.name: [
                    s.workers_target,
                    s.workers_starting,
                    s.workers_busy,
                    s.workers_idle,
                    s.input_queue,
                    s.tasks_in_flight,
                ]
                for s in progress.stages
            },
        }
        tmp = progress_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload))
        tmp.replace(progress_path)

    failures_path = out_dir / "failures.jsonl"
    start = time.perf_counter()
    try:
        result = execute_pipeline(
            bench_chaos._inputs(n_tasks),
            stages,
            ray_address=address,
            metrics_port=None,
            failures_path=failures_path,
            ignore_failures=True,  # count quarantined tasks instead of stopping at the first
            progress_callbacks=[write_progress],
            check_weights=False,
        )
    except CurateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    wall_s = time.perf_counter() - start
    payload = {
        "wall_s": wall_s,
        "outputs": [[t.item_id, t.trail] for t in result.outputs],
        "num_outputs": result.num_outputs,
        "num_failures": result.num_failures,
        "failures_path": str(result.failures_path) if result.failures_path else None,
        "workers_lost": {s.name: s.workers_lost for s in result.progress.stages},
    }
    (out_dir / "result.json").write_text(json.dumps(payload))
    return 0


# ---- the harness (parent process: never connects to Ray) ---------------------------------
@attrs.define
class RunReport:
    """What one run produced, as counted from the driver's outputs and failure records."""

    label: str
    tasks_in: int
    ok: bool = False
    note: str = ""
    wall_s: float = 0.0
    tasks_out: int = 0
    unique_out: int = 0
    duplicates: int = 0
    missing: int = 0
    failure_records: int = 0
    failure_ids: int = 0
    unaccounted: int = 0
    delivered_and_failed: int = 0
    bad_trails: int = 0
    workers_killed: int = 0
    nodes_killed: int = 0
    workers_lost_seen: int = 0
    node_kill_at_s: float | None = None
    timeline: list[tuple[float, int]] = attrs.field(factory=list)
    kills: list[dict[str, Any]] = attrs.field(factory=list)
    warnings: collections.Counter[str] = attrs.field(factory=collections.Counter)
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)


def read_progress(out_dir: Path) -> dict[str, Any]:
    """The running driver's last progress snapshot ({} before the first)."""
    try:
        data: dict[str, Any] = json.loads((out_dir / "progress.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return data


def node_processes(state: Any) -> list[tuple[str, psutil.Process]]:
    """(node ip, process) of each live recorded process of the cluster."""
    found = []
    for node in state.nodes:
        for record in (node.launcher, *node.processes):
            proc = record.live()
            if proc is not None:
                found.append((node.ip, proc))
    return found


def stage_workers(state: Any) -> list[tuple[str, psutil.Process, str]]:
    """(node ip, process, title) of each live StageWorker actor process under our nodes."""
    from cosmos_curate.cluster.processes import descendants

    found: dict[int, tuple[str, psutil.Process, str]] = {}
    for ip, proc in node_processes(state):
        for child in descendants(proc):
            try:
                title = " ".join(child.cmdline())
                if "StageWorker" in title and child.status() != psutil.STATUS_ZOMBIE:
                    found[child.pid] = (ip, child, title.strip())
            except psutil.Error:
                continue
    return list(found.values())


def kill_random_worker(state: Any, rng: random.Random, t0: float) -> dict[str, Any] | None:
    """SIGKILL one random StageWorker of the cluster; what was killed, or None."""
    candidates = stage_workers(state)
    rng.shuffle(candidates)
    for ip, proc, title in candidates:
        try:
            proc.send_signal(signal.SIGKILL)  # psutil refuses if the PID was reused
        except psutil.Error:
            continue
        return {"t": time.perf_counter() - t0, "what": "worker", "pid": proc.pid, "node": ip,
                "title": title, "candidates": len(candidates)}  # fmt: skip
    return None


def kill_node(state: Any, t0: float) -> dict[str, Any] | None:
    """SIGKILL the raylet of the last worker node (as tests/cluster/test_cluster_node_kill)."""
    node = state.workers[-1]
    record = node.find("raylet")
    proc = record.live() if record is not None else None
    if proc is None:
        return None
    proc.send_signal(signal.SIGKILL)
    return {"t": time.perf_counter() - t0, "what": "raylet", "pid": proc.pid, "node": node.ip}


@attrs.define
class Chaos:
    """Every `every_s` a random worker kill; one node kill once outputs reach `node_at`."""

    state: Any
    report: RunReport
    every_s: float
    node_at: int
    t0: float
    rng: random.Random
    next_kill: float | None = None

    def tick(self, now: float, outputs: int) -> None:
        if self.next_kill is None:  # first kill one period after the first progress report
            self.next_kill = now + self.every_s
        if now >= self.next_kill:
            self._record(kill_random_worker(self.state, self.rng, self.t0), outputs)
            self.next_kill = now + self.every_s
        if self.report.nodes_killed == 0 and outputs >= self.node_at:
            event = kill_node(self.state, self.t0)
            if event is not None:
                self._record(event, outputs)
                self.report.nodes_killed = 1
                self.report.node_kill_at_s = event["t"]

    def _record(self, event: dict[str, Any] | None, outputs: int) -> None:
        if event is not None:
            event["outputs"] = outputs
            self.report.kills.append(event)


def run_once(
    label: str, *, state: Any, env: dict[str, str], work: Path, args: argparse.Namespace,
    chaos: bool,
) -> RunReport:  # fmt: skip
    """One driver run; with `chaos`, kill workers every `kill_every` s and one node once."""
    out = work / label
    out.mkdir(parents=True)
    report = RunReport(label=label, tasks_in=args.tasks, load_before=os.getloadavg())
    cmd = [
        sys.executable, str(Path(__file__).resolve()), "--driver", str(out),
        "--address", state.address, "--tasks", str(args.tasks), "--work-ms", str(args.work_ms),
    ]  # fmt: skip
    log = (out / "driver.log").open("w")
    snapshots = (out / "timeline.jsonl").open("w")
    t0 = time.perf_counter()
    driver = subprocess.Popen(cmd, cwd=ROOT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    monkey = Chaos(
        state, report, args.kill_every, int(NODE_KILL_AT * args.tasks), t0, random.Random(args.seed)
    )
    try:
        while driver.poll() is None:
            now = time.perf_counter() - t0
            if now > args.timeout:
                report.note = f"HANG: no exit after {args.timeout:.0f} s"
                break
            prog = read_progress(out)
            outputs = int(prog.get("outputs", 0))
            if not report.timeline or report.timeline[-1][1] != outputs:
                report.timeline.append((now, outputs))
            snapshots.write(json.dumps({**prog, "run_s": round(now, 2)}) + "\n")
            if chaos and prog:
                monkey.tick(now, outputs)
            time.sleep(POLL_S)
    finally:
        if driver.poll() is None:
            driver.kill()  # our own child only
            driver.wait()
        log.close()
        snapshots.close()
    report.timeline.append((time.perf_counter() - t0, int(read_progress(out).get("outputs", 0))))
    finish(report, out, driver.returncode)
    return report


def finish(report: RunReport, out: Path, returncode: int) -> None:
    """Counts, warnings and kill log of a finished (or stopped) run."""
    report.load_after = os.getloadavg()
    report.workers_killed = sum(1 for k in report.kills if k["what"] == "worker")
    report.warnings = summarize_warnings(out / "driver.log")
    (out / "kills.json").write_text(json.dumps(report.kills, indent=1))
    if report.note:
        return
    if returncode != 0:
        tail = (out / "driver.log").read_text()[-3000:]
        report.note = f"ABORTED (driver exit {returncode})"
        print(f"--- {report.label}: driver failed; log tail ---\n{tail}", file=sys.stderr)
        return
    count(report, json.loads((out / "result.json").read_text()), out)


def count(report: RunReport, result: dict[str, Any], out: Path) -> None:
    """Fill the counts from the driver's result and failure-records file."""
    report.ok = True
    report.wall_s = float(result["wall_s"])
    ids = collections.Counter(item_id for item_id, _ in result["outputs"])
    report.tasks_out = sum(ids.values())
    report.unique_out = len(ids)
    report.duplicates = report.tasks_out - report.unique_out
    report.bad_trails = sum(1 for _, trail in result["outputs"] if tuple(trail) != STAGES)
    expected = set(range(report.tasks_in))
    missing = expected - set(ids)
    report.missing = len(missing)
    report.failure_records = int(result["num_failures"])
    failed_ids: set[int] = set()
    path = out / "failures.jsonl"
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                match = _ITEM_ID.search(json.loads(line).get("task_repr", ""))
            except ValueError:
                continue
            if match:
                failed_ids.add(int(match.group(1)))
    report.failure_ids = len(failed_ids)
    report.unaccounted = len(missing - failed_ids)
    report.delivered_and_failed = len(failed_ids & set(ids))
    report.workers_lost_seen = sum(result["workers_lost"].values())


_LOGGED = re.compile(r"^\d{4}-\d\d-\d\d [\d:,.]+ (WARNING|ERROR) \S+: (.*)")


def summarize_warnings(log_path: Path) -> collections.Counter[str]:
    """The driver log's WARNING/ERROR records, its `error:` line and Ray's node-death
    notices, numbers blanked, counted."""
    found: collections.Counter[str] = collections.Counter()
    if not log_path.exists():
        return found
    for line in log_path.read_text(errors="replace").splitlines():
        match = _LOGGED.match(line)
        if match:
            text = match.group(2)
        elif line.startswith("error:") or "has been marked dead" in line:
            text = re.sub(r"\x1b\[\d+m", "", line)
        else:
            continue
        text = re.sub(r"\b[0-9a-f]{16,}\b", "ID", text.strip())
        found[re.sub(r"\d+", "N", text)[:160]] += 1
    return found


def longest_stall(timeline: list[tuple[float, int]], after: float = 0.0) -> tuple[float, float]:
    """(start, length) of the longest gap between output increases, after the first output."""
    points = [(t, n) for t, n in timeline if n > 0]
    best = (0.0, 0.0)
    for (t_a, _), (t_b, _) in itertools.pairwise(points):
        if t_b >= after and t_b - t_a > best[1]:
            best = (t_a, t_b - t_a)
    return best


def print_report(reports: list[RunReport], args: argparse.Namespace, nodes: int) -> None:
    base = reports[0].wall_s if reports and reports[0].ok else 0.0
    print(
        f"\nmachine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; "
        f"cluster: head + {nodes - 1} worker nodes x 2 CPUs on 127.0.0.x; "
        f"{len(STAGES)} stages x {args.work_ms:g} ms sleep per task, {CPUS_PER_WORKER:g} CPU "
        f"per worker; chaos: SIGKILL a random StageWorker every {args.kill_every:g} s, "
        f"one worker node's raylet at {NODE_KILL_AT:.0%} of outputs; "
        f"date: {time.strftime('%Y-%m-%d %H:%M')}\n"
    )
    print("| run | tasks in | tasks out | unique out | duplicates | missing | failure records "
          "| workers killed | nodes killed | wall s | wall vs fault-free |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in reports:
        if not r.ok:
            print(f"| {r.label} | {r.tasks_in:,} | {r.note} | - | - | - | - | "
                  f"{r.workers_killed} | {r.nodes_killed} | - | - |")  # fmt: skip
            continue
        ratio = f"{r.wall_s / base:.2f}x" if base else "-"
        print(
            f"| {r.label} | {r.tasks_in:,} | {r.tasks_out:,} | {r.unique_out:,} | "
            f"{r.duplicates} | {r.missing} | {r.failure_records} | {r.workers_killed} | "
            f"{r.nodes_killed} | {r.wall_s:.1f} | {ratio} |"
        )
    print()
    for r in reports:
        load = "/".join(f"{x:.1f}" for x in r.load_before)
        load_end = "/".join(f"{x:.1f}" for x in r.load_after)
        line = f"- {r.label}: load avg 1/5/15 min {load} before, {load_end} after"
        if r.ok:
            start, length = longest_stall(r.timeline)
            line += (
                f"; missing ids found in failure records: {r.missing - r.unaccounted}/"
                f"{r.missing} (unaccounted {r.unaccounted}); delivered and also recorded as "
                f"failed: {r.delivered_and_failed}; outputs with a wrong stage trail: "
                f"{r.bad_trails}; worker deaths the engine saw: {r.workers_lost_seen}; longest "
                f"output stall {length:.1f} s at t={start:.1f} s"
            )
        if r.node_kill_at_s is not None:
            start, length = longest_stall(r.timeline, after=r.node_kill_at_s)
            line += (
                f"; node killed at t={r.node_kill_at_s:.1f} s, longest stall after it "
                f"{length:.1f} s (from t={start:.1f} s)"
            )
        print(line)
        for text, n in r.warnings.most_common(6):
            print(f"    {n} x {text}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--kill-every", type=float, default=3.0, help="seconds between kills")
    parser.add_argument("--workers", type=int, default=2, help="worker nodes besides the head")
    parser.add_argument("--work-ms", type=float, default=5.0, help="sleep per task per stage")
    parser.add_argument("--timeout", type=float, default=1500.0, help="seconds per run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--driver", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--address", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.driver is not None:
        return driver_main(args.driver, args.address, args.tasks, args.work_ms)
    if args.workers < 1:
        parser.error("--workers must be >= 1: one worker node is killed")

    from cluster_helpers import base_env, start_cluster, stop_cluster

    work = Path(tempfile.mkdtemp(prefix="bench-chaos-"))
    token = work / "auth_token"
    token.write_text(os.urandom(32).hex())
    token.chmod(0o600)
    env = base_env(RAY_AUTH_TOKEN_PATH=str(token))
    state_file = work / "cluster.json"
    reports: list[RunReport] = []
    started = False
    try:
        print(f"starting head + {args.workers} worker nodes ({work})", file=sys.stderr)
        state = start_cluster(state_file, env, workers=args.workers, auth="token")
        started = True
        for label, chaos in (("fault-free", False), ("chaos", True)):
            print(f"run: {label}", file=sys.stderr)
            reports.append(run_once(label, state=state, env=env, work=work, args=args, chaos=chaos))
    finally:
        if started:
            try:
                stop_cluster(state_file, env)
            except AssertionError as exc:
                print(f"warning: cluster stop: {exc}", file=sys.stderr)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print_report(reports, args, args.workers + 1)
    if args.keep:
        print(f"\nlogs, kills and results: {work}")
    return 0 if all(r.ok for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
