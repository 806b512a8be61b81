"""Run options, declared and checked once: `execute_pipeline`'s, the registry's, the CLI's."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
from tests.core.runtime.test_streaming import Item, Stamp
from tests.support import curate_in_process, one_error_line

from cosmos_curate.cli import pipeline_cli
from cosmos_curate.core.interfaces.pipeline_interface import run_pipeline
from cosmos_curate.core.runtime.errors import StoreFractionError
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
        "in_process",  # a pipeline's own --in-process (image-annotate) sets it
    }


def test_defaults_apply_where_the_caller_said_nothing() -> None:
    """Outputs collected, weights checked on nodes (no download), metrics on 9002."""
    run = RunOptions()
    assert run.metrics_port == 9002
    assert run.engine == EngineOptions(collect_outputs=True)
    assert RunOptions(collect_outputs=False).engine.collect_outputs is False
    assert run.weights_policy == WeightsPolicy(download_missing=False, s3_prefix=None)
    assert RunOptions(check_weights=False).weights_policy is None


@pytest.mark.parametrize("bad", ["1.5", "0", "nan"])
def test_a_bad_store_fraction_gets_one_message_from_library_and_cli(
    bad: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run_pipeline(..., object_store_fraction=X)` and `--object-store-fraction X` fail with
    the same message (the record's one check): the CLI prints it as its one `error:` line,
    exits 2 and creates no run folder."""
    with pytest.raises(StoreFractionError) as raised:
        run_pipeline([Item(0)], [Stamp("a")], object_store_fraction=float(bad))
    message = str(raised.value)
    assert message.startswith(f"object_store_fraction {float(bad)}:")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CURATE_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    cli = curate_in_process("pipeline", "run", "hello-world", "--object-store-fraction", bad)
    assert one_error_line(cli, 2) == f"error: {message}"
    assert list(tmp_path.iterdir()) == []
