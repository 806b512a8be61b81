"""`curate pipeline run NAME --config FILE` and `--print-config`, in process (no Ray started)
except the one real run, which uses the session's Ray.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from tests.support import curate_in_process

from cosmos_curate.models.tiny_random_gpt2 import save_tiny_gpt2

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
    """hello-world on Ray with prompts and tokens from the file: one output, config recorded."""
    save_tiny_gpt2(tmp_path / "weights" / "openai-community" / "gpt2")
    config = tmp_path / "run.yaml"
    config.write_text("prompts: [One Prompt Only]\nmax_new_tokens: 3\nprogress: false\n")
    result = curate_in_process(*HW, "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["num_outputs"] == 1  # the file's one prompt, not the two defaults
    assert summary["config"]["prompts"] == ["One Prompt Only"]
    assert summary["config"]["max_new_tokens"] == 3
    saved = json.loads((Path(summary["run_folder"]) / "summary.json").read_text())
    assert saved["config"] == summary["config"]
