"""Fixtures of the `curate model` tests: the weights tests' fake hub and tiny GPT-2."""

from tests.core.weights.fixtures import fake_hub, hub_env, registry_file, tiny_gpt2_files

__all__ = ["fake_hub", "hub_env", "registry_file", "tiny_gpt2_files"]
