"""`forget_head_address`: a Slurm head that ended leaves no "current cluster" file naming it.

`ray start --head` writes the head's address to `ray_current_cluster` in Ray's temp folder, and
a user's later `ray.init()` on that machine connects to whatever the file names; Ray removes
it only when told to stop every Ray on the machine, which a step ended by Slurm never does.
The file is the user's machine's state: only the address this head wrote is removed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cosmos_curate.launch.slurm_node import forget_head_address


@pytest.mark.parametrize("form", ["joined", "split"])
def test_the_file_naming_this_head_is_removed(tmp_path: Path, form: str) -> None:
    (tmp_path / "ray_current_cluster").write_text("127.0.0.11:20003")
    args = [f"--temp-dir={tmp_path}"] if form == "joined" else ["--temp-dir", str(tmp_path)]
    assert forget_head_address("127.0.0.11:20003", ["--num-cpus=2", *args])
    assert not (tmp_path / "ray_current_cluster").exists()


def test_a_file_naming_another_cluster_is_kept(tmp_path: Path) -> None:
    (tmp_path / "ray_current_cluster").write_text("127.0.0.12:6379")
    assert not forget_head_address("127.0.0.11:20003", [f"--temp-dir={tmp_path}"])
    assert (tmp_path / "ray_current_cluster").read_text() == "127.0.0.12:6379"


def test_no_file_is_nothing_to_do(tmp_path: Path) -> None:
    assert not forget_head_address("127.0.0.11:20003", [f"--temp-dir={tmp_path}"])
    assert list(tmp_path.iterdir()) == []
