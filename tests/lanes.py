"""Service lanes (a pytest plugin of tests/conftest.py): which tests share a service, and timings.

A test that needs a service (Docker, Slurm, multi-node Ray clusters, a browser, Prometheus,
the storage backends' servers: Azurite, moto)
gets that service's marker and xdist group. With `pytest -n N --dist loadgroup` each lane runs
on one worker (one dockerd and one Slurm per run) while the other workers run the rest, so
lanes waiting on I/O overlap; `scripts/test.sh --quick` leaves the lanes and every test on a
Ray cluster (`integration`) out. Every other test is grouped with its module, so a module-scoped
fixture (a wheel build, a pipeline run shared by its checks) is made once per run, not once
per worker. At the end the summary gives each lane's and each folder's time.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

# (lane, fixtures that need the service, modules a test module imports objects from, folder
# or file):
# the first match wins. Lanes with the longest waits come first, so workers start them first.
LANES: tuple[tuple[str, frozenset[str], frozenset[str], str | None], ...] = (
    # The crash loop (~40 driver runs on its module's own one-node loopback cluster) is as
    # long as the rest of the cluster lane: its own lane, so the two run side by side.
    ("crashloop", frozenset(), frozenset(), "tests/pipelines/video/test_split_crash_resume.py"),
    ("docker", frozenset({"docker_host"}), frozenset(), None),
    ("slurm", frozenset({"slurm"}), frozenset({"tests.launch.slurm_cluster"}), None),
    ("cluster", frozenset({"three_nodes", "loopback_cluster"}), frozenset(), "tests/cluster"),
    ("storage", frozenset({"azurite"}), frozenset(), "tests/core/storage"),
    ("browser", frozenset(), frozenset({"tests.report.browser"}), None),
    # The metrics module's tests share one background run (module fixture): one worker.
    ("prometheus", frozenset({"prometheus", "running_pipeline"}), frozenset(), None),
)
LANE_NAMES = tuple(lane for lane, *_ in LANES)
RAY_FIXTURES = frozenset({"ray_cluster"})
"""Fixtures that start (or join) a Ray cluster: their tests are `integration` tests, which
`scripts/test.sh --quick` leaves out, whether or not their module says so."""
ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """Give SIGINT back its default where it is ignored (xdist workers, background jobs).

    Processes a test starts inherit an ignored SIGINT, and the Ctrl-C tests send SIGINT to a
    driver or a launcher they started: it must act on it as it would in a user's terminal.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def lane_of(item: pytest.Item) -> str | None:
    """The service lane of a test, or None for a test any worker may run."""
    fixtures = set(getattr(item, "fixturenames", ()))
    module = getattr(item, "module", None)
    imported = {getattr(v, "__module__", None) for v in vars(module).values()} if module else set()
    path = _where(item)
    for lane, needs, modules, folder in LANES:
        if fixtures & needs or imported & modules or (folder and _inside(path, folder)):
            return lane
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist's worker reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each service test with its lane; xdist group: the lane, else the test's module.

    Lanes come first, in LANES order, so the first workers start them first.
    """
    lanes = [(item, lane_of(item)) for item in items]
    order = {lane: i for i, lane in enumerate(LANE_NAMES)}
    lanes.sort(key=lambda pair: order.get(pair[1] or "", len(order)))
    items[:] = [item for item, _ in lanes]
    xdist = bool(config.getoption("loadgroup", False))  # an xdist worker under --dist loadgroup
    for item, lane in lanes:
        if lane is not None:
            item.add_marker(getattr(pytest.mark, lane))
        if RAY_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
        if xdist:
            _join_group(item, lane or _where(item))


def _inside(path: str, folder: str) -> bool:
    """Whether `path` is the file `folder` or lies under the folder `folder`."""
    return path == folder or path.startswith(folder + "/")


def _where(item: pytest.Item) -> str:
    """The test's file relative to the repository (a file elsewhere: its full path)."""
    path = item.path.resolve()
    return (path.relative_to(ROOT) if path.is_relative_to(ROOT) else path).as_posix()


def _join_group(item: pytest.Item, group: str) -> None:
    """Put `item` in xdist group `group`: the marker, and the `@group` node id suffix.

    xdist 3.8 adds the suffix by assigning `item._nodeid`, which pytest 9.2 no longer reads
    (its node ids are `NodeId` objects): set the id here, the exact string kept by `parse`.
    """
    item.add_marker(pytest.mark.xdist_group(group))
    try:
        from _pytest.nodeid import NodeId
    except ImportError:  # an older pytest: xdist's own suffix works
        return
    item._id = NodeId.parse(f"{item.nodeid}@{group}")


class _Span:
    """First start, last stop, busy seconds and test count of one lane or folder."""

    def __init__(self) -> None:
        self.start, self.stop, self.busy, self.tests = float("inf"), 0.0, 0.0, 0

    def add(self, report: pytest.TestReport) -> None:
        self.start = min(self.start, report.start)
        self.stop = max(self.stop, report.stop)
        self.busy += report.duration
        self.tests += report.when == "call"


_lanes: dict[str, _Span] = {}
_folders: dict[str, _Span] = {}
_tests: dict[str, list[float]] = {}  # node id: [setup, call, teardown] seconds
_placed: dict[str, tuple[float, str]] = {}  # node id: (first start, xdist worker or "-")
_reruns: list[tuple[str, str]] = []  # (node id, how its failed try failed)
RERUN_LINES = 40
"""Lines of each rerun test's first failure shown in the summary (its traceback's end)."""


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Add each phase of each test (setup, call, teardown) to its lane and its folder; keep
    how a test that is run again failed (`--reruns` shows only its name)."""
    if report.outcome == "rerun":
        _reruns.append((report.nodeid, report.longreprtext))
    lane = next((name for name in LANE_NAMES if name in report.keywords), "(no service)")
    parts = report.nodeid.split("::")[0].split("/")
    folder = "/".join(parts[:2]) if len(parts) > 2 else parts[0]
    _lanes.setdefault(lane, _Span()).add(report)
    _folders.setdefault(folder, _Span()).add(report)
    phase = ("setup", "call", "teardown").index(report.when)
    _tests.setdefault(report.nodeid, [0.0, 0.0, 0.0])[phase] += report.duration
    node = getattr(report, "node", None)  # set by xdist's controller
    worker = getattr(getattr(node, "gateway", None), "id", "-")
    start, _ = _placed.get(report.nodeid, (report.start, worker))
    _placed[report.nodeid] = (min(start, report.start), worker)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Wall time (first start to last stop) and busy time of each lane, then of each folder."""
    if not _lanes:
        return
    times = os.environ.get("CURATE_TEST_TIMES")
    if times:  # every test's phases, slowest first: where the suite's time goes, and when
        first = min(start for start, _ in _placed.values())
        rows = sorted(_tests.items(), key=lambda kv: -sum(kv[1]))
        Path(times).write_text(
            "".join(
                f"{sum(t):.2f}\t{t[0]:.2f}\t{t[1]:.2f}\t{t[2]:.2f}\t{n}\t"
                f"{_placed[n][0] - first:.1f}\t{_placed[n][1]}\n"
                for n, t in rows
            )
        )
    for nodeid, text in _reruns:  # a flaky test: what its failed try said, to fix it
        terminalreporter.write_sep("=", f"failed try of {nodeid} (run again)")
        for line in text.splitlines()[-RERUN_LINES:]:
            terminalreporter.write_line(line)
    for title, spans in (("lanes", _lanes), ("folders", _folders)):
        terminalreporter.write_sep("=", f"wall time per {title[:-1]} (busy: sum of test times)")
        for name, span in sorted(spans.items(), key=lambda kv: -(kv[1].stop - kv[1].start)):
            terminalreporter.write_line(
                f"{name:<28} wall {span.stop - span.start:7.1f}s  busy {span.busy:7.1f}s  "
                f"{span.tests:4d} tests"
            )
