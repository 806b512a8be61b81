"""`curate pipeline run NAME --config FILE` and `--print-config`, in process (no Ray started)
except the one real run, which uses the session's Ray.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from tests.support import curate_in_process

HW = ("pipeline", "run", "hello-world")


@pytest.fixture(autouse=True)
def _no_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)


def _printed(*args: str) -> dict[str, object]:
    result = curate_in_process(*HW, *args, "--print-config")
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load(result.stdout)
    assert isinstance(data, dict)
    return data


def test_file_values_apply_and_the_command_line_wins(tmp_path: Path) -> None:
    """Dashed and underscored keys both work; a flag on the command line beats the file."""
    config = tmp_path / "run.yaml"
    config.write_text("max-new-tokens: 7\nprompts: [Alpha Beta]\nnum_cpus: 3\n")
    printed = _printed("--config", str(config))
    assert printed["max_new_tokens"] == 7
    assert printed["prompts"] == ["Alpha Beta"]
    assert printed["num_cpus"] == 3.0
    assert _printed("--config", str(config), "--max-new-tokens", "11")["max_new_tokens"] == 11
    assert _printed()["max_new_tokens"] == 20  # the default without a file


def test_toml_works_and_print_config_reproduces_the_run(tmp_path: Path) -> None:
    """A TOML file; what --print-config writes, read back, prints the same configuration."""
    config = tmp_path / "run.toml"
    config.write_text('max_new_tokens = 9\nprompts = ["x y"]\nignore_failures = true\n')
    first = _printed("--config", str(config))
    assert first["max_new_tokens"] == 9 and first["ignore_failures"] is True
    again = tmp_path / "again.yaml"
    again.write_text(curate_in_process(*HW, "--config", str(config), "--print-config").stdout)
    assert _printed("--config", str(again)) == first


def test_a_range_error_from_the_file_names_the_file(tmp_path: Path) -> None:
    """A value of the right type but out of range: the option and the file in one line."""
    config = tmp_path / "run.yaml"
    config.write_text("max_new_tokens: 0\n")
    result = curate_in_process(*HW, "--config", str(config))
    assert result.returncode == 2
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert "--max-new-tokens" in line and str(config) in line


@pytest.mark.integration
def test_a_run_from_a_config_file_uses_it_and_records_it(
    ray_cluster: dict[str, object], tmp_path: Path
) -> None:
    """A run on Ray with its sentences and progress from the file: the file's outputs, config
    recorded. (demo-task-chunking: the config path is every pipeline's, and this one needs no
    weights or model workers.)"""
    config = tmp_path / "run.yaml"
    config.write_text("sentences: [One Sentence Only]\nprogress: false\n")
    result = curate_in_process("pipeline", "run", "demo-task-chunking", "--config", str(config),
                               "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["num_outputs"] == 3  # the file's one sentence of 3 words, not the defaults
    assert summary["config"]["sentences"] == ["One Sentence Only"]
    assert summary["config"]["progress"] is False
    saved = json.loads((Path(summary["run_folder"]) / "summary.json").read_text())
    assert saved["config"] == summary["config"]
