"""The storage options of the pipeline commands map to one input and one output `StorageOptions`."""

from __future__ import annotations

import pickle

import pytest

from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.pipelines.image.options import ImageAnnotateOptions
from cosmos_curate.pipelines.video.dedup.pipeline import VideoDedupOptions
from cosmos_curate.pipelines.video.shard.options import VideoShardOptions
from cosmos_curate.pipelines.video.split.pipeline import VideoSplitOptions

COMMANDS = (VideoSplitOptions, VideoDedupOptions, VideoShardOptions, ImageAnnotateOptions)


@pytest.mark.parametrize("model", COMMANDS, ids=lambda m: m.__name__)
def test_s3_profile_is_both_sides_and_the_side_options_override_it(
    model: type[VideoDedupOptions],
) -> None:
    """`--s3-profile` reaches input and output; `--input-/--output-s3-profile-name` one side."""
    paths = {"input_path": "s3://in/x", "output_path": "s3://out/y"}
    both = model(**paths, s3_profile="p", s3_endpoint_url="http://127.0.0.1:9000")
    assert both.input_storage == both.output_storage == StorageOptions("p", "http://127.0.0.1:9000")
    split = model(
        **paths, s3_profile="p", input_s3_profile_name="reader", output_s3_profile_name="writer"
    )
    assert split.input_storage == StorageOptions("reader")
    assert split.output_storage == StorageOptions("writer")
    assert pickle.loads(pickle.dumps(split.output_storage)) == StorageOptions("writer")
    assert model(**paths).input_storage == StorageOptions()
