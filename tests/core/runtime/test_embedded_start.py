"""An embedded Ray whose node misses Ray's 30 s start window (a busy machine) is started again.

Ray raises a bare Exception with fixed words after 30 s; what cannot be made to happen on
demand here is injected at `ray.init`, and `ray.shutdown` is recorded instead of stopping the
session's cluster this test process may hold.
"""

from __future__ import annotations

from typing import Any

import pytest
import ray

from cosmos_curate.core.runtime import ray_connection

TIMED_OUT = (
    "The current node timed out during startup. This could happen because some of the raylet "
    "failed to startup or the GCS has become overloaded."
)


def _fake_ray(monkeypatch: pytest.MonkeyPatch, errors: list[Exception]) -> list[str]:
    calls: list[str] = []

    def init(**kwargs: Any) -> None:
        calls.append(f"init {kwargs['address']}")
        if errors:
            raise errors.pop(0)

    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray, "shutdown", lambda: calls.append("shutdown"))
    return calls


def test_a_start_that_timed_out_is_tried_again(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls = _fake_ray(monkeypatch, [Exception(TIMED_OUT)])
    # Heard on the module's own logger: an in-process CLI test may have stopped propagation.
    ray_connection.logger.addHandler(caplog.handler)
    try:
        ray_connection.start_embedded(address="local")
    finally:
        ray_connection.logger.removeHandler(caplog.handler)
    assert calls == ["init local", "shutdown", "init local"]
    assert "starting it again (try 2 of 3)" in caplog.text


def test_three_timeouts_give_ray_s_error(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_ray(monkeypatch, [Exception(TIMED_OUT) for _ in range(3)])
    with pytest.raises(Exception, match="timed out during startup"):
        ray_connection.start_embedded(address="local")
    assert calls.count("init local") == 3


def test_any_other_start_error_is_raised_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_ray(monkeypatch, [ValueError("bad resources")])
    with pytest.raises(ValueError, match="bad resources"):
        ray_connection.start_embedded(address="local")
    assert calls == ["init local", "shutdown"]
