"""Every command taking a Docker image reference checks it with one grammar (image.reference)."""

from __future__ import annotations

import pytest
from tests.support import curate_in_process, one_error_line

# (command line before the reference, the option, what follows it)
COMMANDS = {
    "k8s": (("k8s", "render", "--image"), ("--", "curate", "pipeline", "list")),
    "local": (("local", "launch", "--dry-run", "--image"), ("--", "true")),
    "slurm": (("slurm", "submit", "--dry-run", "--container-image"), ("--", "true")),
    "build": (("image", "build", "--envs", "transformers", "--dry-run", "--base-image"), ()),
}
# Rejected by Docker's grammar; before, some commands accepted some of them.
BAD = ["repo..name:v1", "Curate:v1", "curate:v1\nRUN rm", "curate:-v1", "curate@sha256:12"]
GOOD = ["registry.example.com:5000/team/curate:v1.2", "curate", "curate__x/y-z:latest"]


@pytest.mark.parametrize("reference", BAD)
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_bad_reference_is_one_line_exit_2_everywhere(command: str, reference: str) -> None:
    """The same bad reference: exit 2 and one `error:` line naming the option, in each command."""
    before, after = COMMANDS[command]
    line = one_error_line(curate_in_process(*before, reference, *after), 2)
    assert before[-1] in line


@pytest.mark.parametrize("reference", GOOD)
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_good_reference_passes_everywhere(command: str, reference: str) -> None:
    """A valid reference is accepted by each command's dry run (nothing is started)."""
    before, after = COMMANDS[command]
    result = curate_in_process(*before, reference, *after)
    assert result.returncode == 0, result.stderr
