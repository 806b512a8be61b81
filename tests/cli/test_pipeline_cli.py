"""`curate pipeline ...` as a user types it: real subprocesses, embedded Ray, tiny GPT-2.

Checks that stop before any work starts (one `error:` line, the exit code, `--help`) run in
process through the CLI's entry point; `pipeline list` and the hello-world runs are real
processes; the chunking demo's outputs are checked on the session's Ray.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from tests.support import curate, curate_in_process, free_port, one_error_line

from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
from cosmos_curate.models.tiny_random_gpt2 import save_tiny_gpt2
from cosmos_curate.pipelines.examples.demo_task_chunking_pipeline import (
    ChunkingOptions,
    run_chunking,
)


def _curate(
    args: list[str], tmp_path: Path, timeout: int = 240
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CURATE_WEIGHTS_DIR": str(tmp_path / "weights"),
        "CURATE_RUNS_DIR": str(tmp_path / "runs"),
        "HF_HUB_OFFLINE": "1",
        "RAY_AUTH_MODE": "disabled",
        "COLUMNS": "200",
    }
    env.pop("RAY_ADDRESS", None)
    # Ray's own log-monitor timing, as a user has it (conftest slows it for the shared
    # clusters): a stage's print() must reach this short run's driver before it exits.
    env.pop("LOG_NAME_UPDATE_INTERVAL_S", None)
    env.pop("RAY_LOG_MONITOR_MANY_FILES_THRESHOLD", None)
    return curate(*args, env=env, timeout=timeout)


def test_pipeline_list_names_the_shipped_pipelines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pipeline list` shows one line per pipeline; a pipeline's options are in its --help
    (in process: it starts nothing)."""
    monkeypatch.setenv("COLUMNS", "200")
    result = _curate(["pipeline", "list"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hello-world" in result.stdout
    assert "demo-task-chunking" in result.stdout
    assert len([line for line in result.stdout.splitlines() if "│ video-" in line]) == 3
    options = curate_in_process("pipeline", "run", "hello-world", "--help")
    assert options.returncode == 0, options.stderr
    assert "--max-new-tokens" in options.stdout


def test_unknown_pipeline_is_one_line_listing_known_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """A typo in the name prints the known pipelines, exit 2, no traceback."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    line = one_error_line(curate_in_process("pipeline", "run", "helo-world"), code=2)
    assert "unknown pipeline 'helo-world'" in line
    assert "hello-world" in line


def test_missing_weights_name_folder_and_download_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No GPT-2 weights: one line with the folder and `curate model download --models gpt2`."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    line = one_error_line(curate_in_process("pipeline", "run", "hello-world"), code=2)
    assert str(tmp_path / "weights" / "openai-community" / "gpt2") in line
    assert "curate model download --models gpt2" in line


def test_bad_option_value_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """An out-of-range option names the flag."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    result = curate_in_process("pipeline", "run", "hello-world", "--max-new-tokens", "0")
    assert "--max-new-tokens" in one_error_line(result, code=2)


@pytest.mark.integration
def test_hello_world_end_to_end_with_tiny_gpt2(tmp_path: Path) -> None:
    """hello-world runs on embedded Ray: prompts lower-cased, GPT-2 output, word counts."""
    save_tiny_gpt2(tmp_path / "weights" / "openai-community" / "gpt2")
    result = _curate(
        [
            "pipeline",
            "run",
            "hello-world",
            "--max-new-tokens",
            "5",
            "--no-progress",
            "--metrics-port",
            str(free_port()),
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "the key to a creating good art is" in out  # lower-cased prompt in the outputs
    assert "word_count" in out
    assert "WordCountStage" in out
    assert "CPU fallback" in out  # no GPU here: the GPT-2 stage ran on CPU, and says so
    assert "NO GPU IN THE CLUSTER" in result.stderr
    assert "outputs 2" in out
    # A stage's own print() shows on stderr, named after its stage; never on stdout.
    assert "[_PrintStage] prompt: the key to a creating good art is" in result.stderr
    assert "prompt: " not in out
    # One folder per run holds its log, summary, time series and report.
    (run_folder,) = [p for p in (tmp_path / "runs").iterdir() if (p / "summary.json").is_file()]
    for name in ("run.log", "series.jsonl", "report.html"):
        assert (run_folder / name).is_file(), name


@pytest.mark.integration
def test_require_gpu_refuses_cpu_fallback(tmp_path: Path) -> None:
    """--require-gpu on a GPU-less machine is a one-line error (exit 2), not a slow CPU run."""
    save_tiny_gpt2(tmp_path / "weights" / "openai-community" / "gpt2")
    line = one_error_line(
        _curate(
            [
                "pipeline",
                "run",
                "hello-world",
                "--require-gpu",
                "--no-progress",
                "--metrics-port",
                str(free_port()),
            ],
            tmp_path,
        ),
        code=2,
    )
    assert "no GPU" in line and "--require-gpu" in line


@pytest.mark.integration
def test_demo_task_chunking_emits_one_task_per_word(ray_cluster: dict[str, object]) -> None:
    """Two sentences of 4 and 5 words become 9 upper-cased word tasks.

    The pipeline's own function on the session's Ray: `curate pipeline run demo-task-chunking`
    as a process is the README tour's (tests/docs/test_readme_tour.py)."""
    result = run_chunking(ChunkingOptions(), RunOptions(metrics_port=None))
    words = sorted((t.sentence_index, t.position, t.word) for t in result.outputs)
    assert len(words) == 9 and {"QUICK", "LAZY"} <= {word for _, _, word in words}
    assert all(word.isupper() for _, _, word in words)
