"""`curate model list|download` run as a user would: `curate` in a subprocess.

Errors that stop before any download (an unknown name, a bad registry) run in process
through the CLI's entry point; the hub client reads HF_HUB_OFFLINE and HF_ENDPOINT once at
import, so the checks that depend on them stay in their own process.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from tests.core.weights.fake_hf_hub import FakeHub
from tests.core.weights.weights_testlib import (
    GPT2_ID,
    GPT2_SHA,
    TOKEN,
    subprocess_env,
    write_registry,
)
from tests.support import CURATE, CliResult, curate, curate_in_process, one_error_line

from cosmos_curate.core.utils.model_utils import get_local_dir_for_weights_name
from cosmos_curate.core.weights import store as weights_store

pytestmark = pytest.mark.integration
CHUNK = 10 * 1024 * 1024


def _curate(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return curate(*args, env=subprocess_env(COLUMNS="200", **env), timeout=120)


def _one_error_line(result: CliResult | subprocess.CompletedProcess[str], code: int = 2) -> str:
    """The command failed with `code` (2: rejected before work started, 1: failed during
    it) and exactly one line on stderr, no traceback."""
    line = one_error_line(result, code)
    assert [x for x in result.stderr.splitlines() if x.strip()] == [line], result.stderr
    return line


def test_download_gpt2_then_load_it(hub_env: FakeHub, tiny_gpt2_files: dict[str, bytes]) -> None:
    """`curate model download --models gpt2` fetches a model transformers can load and run."""
    proc = _curate("model", "download", "--models", "gpt2")
    assert proc.returncode == 0, proc.stderr
    folder = get_local_dir_for_weights_name(GPT2_ID)
    assert f"gpt2: downloaded (12.4 MiB) in {folder}" in proc.stdout

    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    ids = tokenizer("the quick brown fox", return_tensors="pt").input_ids
    assert model.generate(ids, max_new_tokens=3, do_sample=False).shape[1] == ids.shape[1] + 3

    listing = _curate("model", "list")
    assert listing.returncode == 0, listing.stderr
    row = next(line for line in listing.stdout.splitlines() if "gpt2 " in line)
    assert GPT2_ID in row and GPT2_SHA[:12] in row and "12.4 MiB" in row and "complete" in row

    again = _curate("model", "download", "--models", "gpt2")
    assert "gpt2: already complete" in again.stdout


def test_killed_download_resumes_and_never_looks_complete(
    hub_env: FakeHub, tiny_gpt2_files: dict[str, bytes]
) -> None:
    """A download killed mid-file leaves no model folder; the next run resumes with Range."""
    hub_env.faults.stall_after["model.safetensors"] = CHUNK + 1024 * 1024
    partial = weights_store.partial_path(GPT2_ID, "model.safetensors")
    proc = subprocess.Popen([*CURATE, "model", "download", "--models", "gpt2"],
                            env=subprocess_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (partial.exists() and partial.stat().st_size >= CHUNK):
            assert time.monotonic() < deadline, "transfer never reached the stall point"
            assert proc.poll() is None
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait()
    hub_env.faults.stall_after.clear()
    hub_env.faults.release.set()
    assert not get_local_dir_for_weights_name(GPT2_ID).exists()
    listing = _curate("model", "list")
    assert "partial download (resumable)" in listing.stdout

    hub_env.reset_log()
    proc2 = _curate("model", "download", "--models", "gpt2")
    assert proc2.returncode == 0, proc2.stderr
    lfs = [r for r in hub_env.data_requests() if "/lfs/" in r.path]
    assert [r.headers.get("range") for r in lfs] == [f"bytes={CHUNK}-"]
    folder = get_local_dir_for_weights_name(GPT2_ID)
    assert (folder / "model.safetensors").read_bytes() == tiny_gpt2_files["model.safetensors"]


def test_unknown_model_lists_known(hub_env: FakeHub) -> None:
    """A misspelt name is one line listing the registered names; nothing is fetched."""
    line = _one_error_line(curate_in_process("model", "download", "--models", "gtp2"))
    from cosmos_curate.core.weights.registry import load_registry

    known = ", ".join(sorted(load_registry()))
    assert line == f"error: unknown model 'gtp2'; known models: {known}"
    assert "gpt2" in known
    assert hub_env.requests == []


def test_offline_is_one_line_within_seconds(hub_env: FakeHub) -> None:
    """HF_HUB_OFFLINE=1 fails at once with the way out, without touching the network."""
    start = time.monotonic()
    line = _one_error_line(_curate("model", "download", "--models", "gpt2", HF_HUB_OFFLINE="1"))
    assert "HF_HUB_OFFLINE is set" in line
    assert time.monotonic() - start < 10
    assert hub_env.requests == []


def test_unreachable_hub_is_one_line(hub_env: FakeHub) -> None:
    """A dead HF_ENDPOINT is one line naming it, well before the client's retry budget."""
    start = time.monotonic()
    proc = _curate("model", "download", "--models", "gpt2", HF_ENDPOINT="http://127.0.0.1:9")
    line = _one_error_line(proc, code=1)  # the download had started
    assert "cannot reach the Hugging Face hub at http://127.0.0.1:9" in line
    assert time.monotonic() - start < 10


def test_malformed_registry_via_option_and_env(
    registry_file: Path, hub_env: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--models-config and CURATE_MODELS_CONFIG both select the file; its errors are one line."""
    write_registry(registry_file, {"gpt2": {"model_id": GPT2_ID}})
    expected = f"error: model registry {registry_file}: entry 'gpt2', field 'version': missing"
    listing = curate_in_process("model", "list", "--models-config", str(registry_file))
    assert _one_error_line(listing).startswith(expected)
    monkeypatch.setenv("CURATE_MODELS_CONFIG", str(registry_file))
    assert _one_error_line(curate_in_process("model", "download", "--all")).startswith(expected)


def test_token_is_used_but_never_printed(registry_file: Path, hub_env: FakeHub) -> None:
    """A private model downloads with HF_TOKEN; a wrong token fails without echoing it."""
    hub_env.add_commit("me/private", GPT2_SHA, {"config.json": b"{}"}, token=TOKEN)
    write_registry(registry_file, {"priv": {"model_id": "me/private", "version": GPT2_SHA}})
    bad = _curate("model", "download", "--all", "--models-config", str(registry_file),
                  HF_TOKEN=TOKEN + "x")
    assert "set HF_TOKEN for a private model" in _one_error_line(bad)
    good = _curate(
        "model", "download", "--all", "--models-config", str(registry_file), HF_TOKEN=TOKEN
    )
    assert good.returncode == 0, good.stderr
    for proc in (bad, good):
        assert TOKEN not in proc.stdout + proc.stderr


def test_list_json_and_piped_table_keep_whole_model_ids(registry_file: Path) -> None:
    """`model list --json` gives every field; piped at 80 columns, no model id is cut."""
    long_id = "an-organisation-with-a-long-name/a-model-whose-name-is-long-too-v2"
    write_registry(registry_file, {"long": {"model_id": long_id, "version": GPT2_SHA}})
    listed = curate_in_process("model", "list", "--json", "--models-config", str(registry_file))
    assert listed.returncode == 0, listed.stderr
    assert '"model_id": "' + long_id + '"' in listed.stdout
    assert '"revision": "' + GPT2_SHA + '"' in listed.stdout
    piped = curate("model", "list", "--models-config", str(registry_file),
                   env=subprocess_env(COLUMNS="80"), timeout=120)
    assert piped.returncode == 0, piped.stderr
    assert long_id in piped.stdout
