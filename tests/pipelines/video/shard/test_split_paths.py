"""`resolve_inside`: the one check that keeps the shard's reads inside the split output."""

from __future__ import annotations

from pathlib import Path

import pytest

from cosmos_curate.pipelines.video.shard.split_paths import OutsideSplitOutputError, resolve_inside


@pytest.mark.parametrize(
    ("relative", "why"),
    [
        ("/root/.aws/credentials", "absolute"),
        ("../../../etc/passwd", "'..'"),
        ("clips/../../secret", "'..'"),
        ("~/.ssh/id_rsa", "absolute"),
        ("s3://other-bucket/key", "URL"),
        ("clips/a\x00.mp4", "NUL"),
        ("", "empty"),
        (".", "itself"),
        (12, "not a string"),
    ],
)
@pytest.mark.parametrize("root", ["LOCAL", "s3://data/split"])
def test_paths_that_leave_the_split_output_are_refused(
    root: str, relative: object, why: str, tmp_path: Path
) -> None:
    """The same names are refused under a local folder and an S3 prefix, saying why."""
    base = str(tmp_path) if root == "LOCAL" else root
    with pytest.raises(OutsideSplitOutputError, match="outside the split output") as info:
        resolve_inside(base, relative)
    assert why in str(info.value)


def test_paths_inside_resolve_under_the_root(tmp_path: Path) -> None:
    """`clips/x.mp4` and `./clips/x.mp4` name the file under the folder or the prefix."""
    assert resolve_inside(str(tmp_path), "./clips/x.mp4") == str(tmp_path / "clips" / "x.mp4")
    assert resolve_inside("s3://data/split/", "clips/x.mp4") == "s3://data/split/clips/x.mp4"


def test_a_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    """A clip file inside the folder that links to a file outside it is not read."""
    secret = tmp_path / "secret.txt"
    secret.write_text("token")
    root = tmp_path / "split"
    (root / "clips").mkdir(parents=True)
    (root / "clips" / "x.mp4").symlink_to(secret)
    with pytest.raises(OutsideSplitOutputError, match="symlink"):
        resolve_inside(str(root), "clips/x.mp4")
