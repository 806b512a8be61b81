"""What differs between the shard pipelines (`video-shard`, `image-shard`): one `ShardKind` each.

The shard run (`pipeline.shard`) is the same for both: list the input's groups of items,
read every item's metadata for the plan (`read_stage`), plan, write the tars (the samples
`samples` yields), list what no tar holds, write the indexes. A kind names its items in the
indexes, the `not_written.jsonl` list and the failure records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import attrs

from cosmos_curate.core.interfaces.stage_interface import CuratorStage
from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.pipelines.video.dedup.split_output import VideoClips

ListFn = Callable[[str, StorageOptions], list[VideoClips]]
SamplesFn = Callable[[str, list[VideoClips], list[str], StorageOptions], Iterator[dict[str, Any]]]
"""`(input root, groups, item ids in tar order, input storage)` -> webdataset sample dicts."""


@attrs.frozen
class ShardKind:
    """One shard pipeline's names, input listing, metadata stage and samples."""

    pipeline: str
    """Its name (`video-shard`), in failure records and warnings."""
    noun: str
    """Its items, plural (`clips`): the index's counts are `<noun>_found`, ..."""
    item: str
    """One item (`clip`): failure records say `<item> <id>`."""
    group: str
    """One group of items read together (`video`), as its failure record names it."""
    dedup_pipeline: str
    """The pipeline whose output `--dedup-path` names (`video-dedup`)."""
    refused: str
    """The `not_written.jsonl` reason of an item whose file lies outside the input."""
    data_keys: tuple[str, ...]
    list_groups: ListFn
    read_stage: Callable[[str, StorageOptions], CuratorStage[Any, Any]]
    """`(input root, input storage)` -> the stage that fills `ClipInfoTask.entries`."""
    samples: SamplesFn

    @property
    def id_key(self) -> str:
        """The id's key in `not_written.jsonl` (`clip_id`)."""
        return f"{self.item}_id"
