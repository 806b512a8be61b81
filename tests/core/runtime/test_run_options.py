"""Run options, declared once: keywords of `execute_pipeline`, the registry's, the CLI's (pure)."""

from __future__ import annotations

from pathlib import Path

import attrs

from cosmos_curate.cli import pipeline_cli
from cosmos_curate.core.runtime.run_options import EngineOptions, RunOptions
from cosmos_curate.core.runtime.stage_spec import WeightsPolicy
from cosmos_curate.pipelines import registry


def test_a_pipeline_passes_its_run_options_on_unchanged() -> None:
    """`execute_pipeline(..., **run.as_kwargs())` sees exactly the options the CLI chose."""
    engine = EngineOptions(plan_interval_s=2.0)
    run = RunOptions(
        ray_address="127.0.0.1:6379",
        failures_path="out/failures.jsonl",
        checkpoint_dir="ckpt",
        resume=True,
        progress_callbacks=[print],
        engine_options=engine,
    )
    kwargs = run.as_kwargs()
    assert kwargs["engine_options"] is engine  # not flattened into a dict
    assert kwargs["failures_path"] == Path("out/failures.jsonl")
    assert kwargs["progress_callbacks"] == (print,)
    assert RunOptions(**kwargs) == run


def test_the_registry_and_the_runtime_share_one_declaration() -> None:
    """Pipelines written against `registry.RunOptions` get the runtime's class."""
    assert registry.RunOptions is RunOptions


def test_every_cli_run_option_is_a_run_options_field() -> None:
    """`curate pipeline run` options are RunOptions fields by name, but for display switches."""
    cli_names = {p.name for p in pipeline_cli._RUN_PARAMETERS}
    fields = {f.name for f in attrs.fields(RunOptions)}
    # the CLI's own: display switches, and what decides whether and how the CLI runs at all
    assert cli_names - fields <= {
        "progress", "verbose", "as_json", "dry_run", "config", "print_config"
    }  # fmt: skip
    assert fields - cli_names <= {
        "show_progress",  # from --progress/--no-progress, or whether stderr is a terminal
        "collect_outputs",
        "check_weights",
        "progress_callbacks",
        "engine_options",
        "run_dir",  # the CLI passes the folder that also keeps the run's log
    }


def test_defaults_apply_where_the_caller_said_nothing() -> None:
    """Outputs collected, weights checked on nodes (no download), metrics on 9002."""
    run = RunOptions()
    assert run.metrics_port == 9002
    assert run.engine == EngineOptions(collect_outputs=True)
    assert RunOptions(collect_outputs=False).engine.collect_outputs is False
    assert run.weights_policy == WeightsPolicy(download_missing=False, s3_prefix=None)
    assert RunOptions(check_weights=False).weights_policy is None
