"""Checks made before a pipeline starts: numbers, paths and the metrics port.

Everything here runs before Ray starts and creates nothing; each failure is one
`PreflightError` naming the option. The metrics port follows `ray_cluster.ports.choose_port`:
the default (`settings.DEFAULT_METRICS_PORT`) unless taken, then a free one, said; a chosen
port that is taken is an error naming it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cosmos_curate.cli.common import print_note
from cosmos_curate.core.ray_cluster.bind import bind_host, metrics_bind_host
from cosmos_curate.core.ray_cluster.ports import ChosenPort, check_port_number, choose_port
from cosmos_curate.core.utils.preflight import (
    PreflightError,
    check_finite,
    check_new_dir,
    check_new_file,
)
from cosmos_curate.core.utils.settings import DEFAULT_METRICS_PORT


def choose_metrics_port(chosen: int | None, *, embedded: bool) -> ChosenPort | None:
    """The port to export on: the user's (checked), else the default, else a free one.

    None when the run uses an existing cluster (its metrics port is that cluster's).
    """
    if not embedded:
        if chosen is not None:
            check_port_number(chosen, "--metrics-port", allow_zero=True)
        return None
    return choose_port(metrics_bind_host(bind_host()), chosen, "--metrics-port")


def check_run_paths(failures_path: Path | None, checkpoint_dir: Path | None) -> None:
    """The failure records file and the checkpoint folder can be created where given."""
    if failures_path is not None:
        check_new_file(failures_path, "--failures-path")
    if checkpoint_dir is not None:
        check_new_dir(checkpoint_dir, "--checkpoint-dir")


def uses_embedded_cluster(ray_address: str | None) -> bool:
    """Whether the run starts its own Ray (no address given, none in RAY_ADDRESS)."""
    return not (ray_address or os.environ.get("RAY_ADDRESS"))


__all__ = [
    "PreflightError",
    "check_finite",
    "check_run",
    "check_run_paths",
    "choose_metrics_port",
    "uses_embedded_cluster",
]


def check_run(values: dict[str, Any]) -> int | None:
    """Check `pipeline run`'s own options; returns the metrics port to use (None: remote).

    Says so on stderr when the default port is taken and another one is used.
    """
    check_finite(values["num_cpus"], "--num-cpus", minimum=0)
    check_finite(values["num_gpus"], "--num-gpus", minimum=0)
    check_run_paths(values["failures_path"], values["checkpoint_dir"])
    if values["resume"] and values["checkpoint_dir"] is None:
        msg = "--resume needs --checkpoint-dir DIR (the journal of the run to resume)"
        raise PreflightError(msg)
    embedded = uses_embedded_cluster(values["ray_address"])
    if embedded:
        bind_host()  # a bad CURATE_BIND_HOST is an error now, not after Ray starts
    chosen = choose_metrics_port(values["metrics_port"], embedded=embedded)
    if chosen is None:
        return None
    if chosen.replaced_default:
        print_note(
            f"metrics port {DEFAULT_METRICS_PORT} is in use; this run exports metrics on "
            f"port {chosen.port} (`curate metrics tail` finds it)"
        )
    return chosen.port
