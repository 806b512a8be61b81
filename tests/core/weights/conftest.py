"""The weights tests' fixtures (defined in `fixtures.py`, shared with the model CLI tests)."""

from tests.core.weights.fixtures import (
    fake_hub,
    hub_env,
    moto_s3,
    registry_file,
    s3_env,
    tiny_gpt2_files,
)

__all__ = ["fake_hub", "hub_env", "moto_s3", "registry_file", "s3_env", "tiny_gpt2_files"]
