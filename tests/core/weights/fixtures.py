"""Fixtures for the weights tests: a tiny GPT-2, a fake hub, a local S3.

`conftest.py` beside this file hands them to tests/core/weights; other test modules (the
`curate model` CLI tests) import the ones they use by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.core.weights.fake_hf_hub import FakeHub
from tests.core.weights.weights_testlib import GPT2_ID, GPT2_SHA, NEWER_SHA
from tests.support import free_port


def _make_tiny_gpt2(folder: Path) -> None:
    """A random-init GPT-2 (~13 MB of weights, bigger than one 10 MB client chunk) + tokenizer."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    bpe = ByteLevelBPETokenizer()
    text = ["the quick brown fox jumps over the lazy dog", "curate datasets with models"] * 50
    bpe.train_from_iterator(text, vocab_size=300, min_frequency=1,
                            special_tokens=["<|endoftext|>"])
    bpe_dir = folder / "bpe"
    bpe_dir.mkdir(parents=True)
    bpe.save_model(str(bpe_dir))
    tokenizer = GPT2TokenizerFast.from_pretrained(str(bpe_dir))
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=64, n_embd=256, n_layer=4,
                        n_head=4)
    model_dir = folder / "model"
    GPT2LMHeadModel(config).save_pretrained(str(model_dir))
    tokenizer.save_pretrained(str(model_dir))
    # The real repo also holds the slow tokenizer's files, which the shipped filelist names.
    for name in ("vocab.json", "merges.txt"):
        (model_dir / name).write_bytes((bpe_dir / name).read_bytes())


@pytest.fixture(scope="session")
def tiny_gpt2_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The files of a tiny GPT-2 repo as the hub would hold them: path -> bytes."""
    folder = tmp_path_factory.mktemp("tiny_gpt2")
    _make_tiny_gpt2(folder)
    model_dir = folder / "model"
    files = {p.relative_to(model_dir).as_posix(): p.read_bytes()
             for p in sorted(model_dir.rglob("*")) if p.is_file()}
    files[".gitattributes"] = b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
    assert len(files["model.safetensors"]) > 11 * 1024 * 1024
    return files


@pytest.fixture
def fake_hub(tiny_gpt2_files: dict[str, bytes]) -> Iterator[FakeHub]:
    """A running hub serving `openai-community/gpt2` at the shipped pin, and a newer `main`."""
    hub = FakeHub()
    hub.add_commit(GPT2_ID, GPT2_SHA, tiny_gpt2_files, main=False)
    newer = dict(tiny_gpt2_files)
    newer["config.json"] = tiny_gpt2_files["config.json"].replace(b"{", b'{\n  "newer": true,', 1)
    hub.add_commit(GPT2_ID, NEWER_SHA, newer, main=True)
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


@pytest.fixture
def hub_env(fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeHub:
    """Point this process (and subprocesses) at the fake hub, online, with a scratch HF_HOME."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_ENDPOINT", fake_hub.url)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("CURATE_MODELS_CONFIG", raising=False)
    # The client reads HF_HUB_OFFLINE once at import; tests/conftest.py sets it to 1 for the suite.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    return fake_hub


@pytest.fixture
def registry_file(tmp_path: Path) -> Path:
    """A registry path to write test entries into (see `write_registry`)."""
    return tmp_path / "models.json"


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1; yields its endpoint URL.

    One server for the session (per xdist worker), its buckets seen by every test that runs
    there, and by any other moto server in the process (moto keeps one store per process):
    each test module uses bucket names of its own (or `uuid` ones), never `raw` or `data`
    that another module might fill."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_env(moto_s3: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """boto3 pointed at the moto server with dummy credentials; returns the endpoint."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_s3)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto_s3
