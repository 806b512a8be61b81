"""The lanes plugin's report of a flaky test: its failed try is shown, not only its name."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_a_rerun_test_shows_how_its_failed_try_failed(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--reruns` lists a test that passed on its second try by name only; the lanes plugin
    prints the end of the first try's traceback, so a flaky test in CI can be fixed."""
    pytester.makepyfile(
        test_flaky="""
        calls = []

        def test_fails_once():
            calls.append(1)
            assert len(calls) > 1, "the first try fails: cluster not ready"
        """
    )
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the plugin as `tests.lanes`
    result = pytester.runpytest_subprocess("-p", "tests.lanes", "--reruns", "1")
    assert result.parseoutcomes() == {"passed": 1, "rerun": 1}
    result.stdout.fnmatch_lines(
        [
            "*failed try of test_flaky.py::test_fails_once (run again)*",
            "*AssertionError: the first try fails: cluster not ready*",
        ]
    )


def test_lanes_are_matched_by_file_and_by_folder() -> None:
    """A lane named by a file takes that file's tests (the crash loop has a lane of its own,
    beside the cluster lane); one named by a folder takes the tests under it."""
    from tests.lanes import LANES, _inside

    crash = next(where for lane, *_, where in LANES if lane == "crashloop")
    assert crash is not None and (ROOT / crash).is_file()
    assert _inside(crash, crash)
    assert not _inside(crash + "c", crash)
    assert _inside("tests/cluster/test_bind.py", "tests/cluster")
    assert not _inside("tests/clusters/test_x.py", "tests/cluster")
