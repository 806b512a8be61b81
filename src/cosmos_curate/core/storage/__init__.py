"""Storage shared by every pipeline, the weights code, the report and the run records.

`DataFolder` is the one way to reach files under a local folder or a storage URL (`s3://`,
`az://`, `gs://`, `http(s)://` to read), configured by one `StorageOptions` record; `publish`
is the one way a local file is made visible: all of it, durably, or nothing.
"""

from cosmos_curate.core.storage.errors import (
    StorageBackendMissingError,
    StorageKeyError,
    StorageURLError,
)
from cosmos_curate.core.storage.folder import DataFolder, file_location
from cosmos_curate.core.storage.keys import check_key, key_problem
from cosmos_curate.core.storage.listing import Entry
from cosmos_curate.core.storage.options import StorageOptions
from cosmos_curate.core.storage.publish import (
    fsync_dir,
    publish_batch,
    publish_bytes,
    publish_json,
    publish_staged,
    publish_text,
    publishing,
    sync_tree,
    write_unsynced,
)
from cosmos_curate.core.storage.urls import Location, is_remote, parse_url

__all__ = [
    "DataFolder",
    "Entry",
    "Location",
    "StorageBackendMissingError",
    "StorageKeyError",
    "StorageOptions",
    "StorageURLError",
    "check_key",
    "file_location",
    "fsync_dir",
    "is_remote",
    "key_problem",
    "parse_url",
    "publish_batch",
    "publish_bytes",
    "publish_json",
    "publish_staged",
    "publish_text",
    "publishing",
    "sync_tree",
    "write_unsynced",
]
