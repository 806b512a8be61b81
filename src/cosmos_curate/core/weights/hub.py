"""Fetching one model's files from the Hugging Face hub into its staging folder.

Uses the real `huggingface_hub` client: `model_info` (revision API, with file sizes and
checksums), `get_hf_file_metadata` (HEAD on `resolve/<sha>/<file>`, checks `X-Repo-Commit`) and
`http_get` (the transfer, with progress bar and `Range` resume). Bytes go to a partial file that
survives an interrupted run, so the next run resumes where it stopped (`hf_hub_download` deletes
its partial file on failure). Honours `HF_ENDPOINT`, `HF_TOKEN` and `HF_HUB_OFFLINE` at call time;
`CURATE_HUB_TIMEOUT` (seconds, default 10) bounds each metadata call.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

import attrs
import httpx2
from huggingface_hub import HfApi, constants, get_hf_file_metadata, hf_hub_url
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.file_download import http_get
from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]

from cosmos_curate.core.utils import settings
from cosmos_curate.core.weights import store
from cosmos_curate.core.weights.errors import (
    CorruptDownloadError,
    HubAccessError,
    HubOfflineError,
    HubUnreachableError,
    MissingFileError,
    RevisionError,
)
from cosmos_curate.core.weights.names import check_remote_names
from cosmos_curate.core.weights.registry import ModelEntry
from cosmos_curate.presentation.format import first_line

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")
_NETWORK_ERRORS = (httpx2.TransportError, OfflineModeIsEnabled)


@attrs.frozen
class HubConfig:
    """Where and how to reach the hub, read from the environment at call time."""

    endpoint: str
    token: str | None = attrs.field(repr=False)
    timeout: float
    offline: bool

    @classmethod
    def from_env(cls) -> HubConfig:
        """`HF_ENDPOINT`, `HF_TOKEN`, `CURATE_HUB_TIMEOUT`, `HF_HUB_OFFLINE` as set now."""
        flag = os.environ.get("HF_HUB_OFFLINE", "").strip().upper()
        return cls(
            endpoint=(os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/"),
            token=os.environ.get("HF_TOKEN") or None,
            timeout=settings.hub_timeout_s(),
            offline=flag in {"1", "ON", "YES", "TRUE"} or constants.is_offline_mode(),
        )


@attrs.frozen
class RemoteFile:
    """A file of the model at the pinned revision, with what the hub says about it."""

    path: str
    size: int | None
    sha256: str | None
    git_sha1: str | None


def _translate(exc: Exception, name: str, entry: ModelEntry, hub: HubConfig) -> Exception:
    """The user-facing error for a client exception, or `exc` itself when unknown."""
    what = f"{entry.model_id} ({name})"
    error: Exception = exc
    if isinstance(exc, OfflineModeIsEnabled):
        error = HubOfflineError(_offline_message(name, entry))
    elif isinstance(exc, httpx2.TransportError):
        error = HubUnreachableError(
            f"cannot reach the Hugging Face hub at {hub.endpoint} for {what}: {first_line(exc)}; "
            "check the network or HF_ENDPOINT, or fetch from S3 with --model-weights-prefix"
        )
    elif isinstance(exc, GatedRepoError):
        error = HubAccessError(
            f"{what} is gated on the hub: accept its terms on the model page and set HF_TOKEN"
        )
    elif isinstance(exc, RevisionNotFoundError):
        error = RevisionError(
            f"{entry.model_id} has no revision {entry.version} on {hub.endpoint}; "
            f"fix 'version' of entry {name!r} in the model registry"
        )
    elif isinstance(exc, RepositoryNotFoundError):
        error = HubAccessError(
            f"the hub at {hub.endpoint} has no model {what} or refuses it without a valid token; "
            "check 'model_id' in the model registry, or set HF_TOKEN for a private model"
        )
    elif isinstance(exc, HfHubHTTPError) and _status(exc) in {401, 403}:
        error = HubAccessError(
            f"the hub at {hub.endpoint} refused {what} (HTTP {_status(exc)}); "
            "check that HF_TOKEN is valid and may read this model"
        )
    elif isinstance(exc, HfHubHTTPError):
        status = _status(exc)
        error = HubUnreachableError(
            f"the hub at {hub.endpoint} answered HTTP {status} for {what}; try again later"
        )
    return error


def _status(exc: HfHubHTTPError) -> int | None:
    return exc.response.status_code if exc.response is not None else None


def _offline_message(name: str, entry: ModelEntry) -> str:
    return (
        f"cannot download {entry.model_id} ({name}): HF_HUB_OFFLINE is set; unset it, "
        "or fetch from S3 with --model-weights-prefix"
    )


def list_remote_files(name: str, entry: ModelEntry, hub: HubConfig) -> list[RemoteFile]:
    """The files to fetch: the model's at `entry.version`, restricted to `entry.filelist`."""
    if hub.offline:
        raise HubOfflineError(_offline_message(name, entry))
    api = HfApi(endpoint=hub.endpoint, token=hub.token)
    try:
        info = api.model_info(
            entry.model_id, revision=entry.version, files_metadata=True, timeout=hub.timeout
        )
    except (*_NETWORK_ERRORS, HfHubHTTPError) as exc:
        raise _translate(exc, name, entry, hub) from exc
    if info.sha is not None and info.sha != entry.version:
        msg = f"the hub served revision {info.sha} of {entry.model_id}, not {entry.version}"
        raise RevisionError(msg)
    files = {
        s.rfilename: RemoteFile(
            path=s.rfilename,
            size=s.size,
            sha256=s.lfs.sha256 if s.lfs is not None else None,
            git_sha1=s.blob_id if s.lfs is None else None,
        )
        for s in info.siblings or []
    }
    if entry.filelist is None:
        return _checked(entry, hub, list(files.values()))
    absent = [f for f in entry.filelist if f not in files]
    if absent:
        msg = (
            f"{entry.model_id} at {entry.version[:12]} has no file {', '.join(absent)}; "
            f"fix 'filelist' of entry {name!r} in the model registry"
        )
        raise MissingFileError(msg)
    return _checked(entry, hub, [files[f] for f in entry.filelist])


def _checked(entry: ModelEntry, hub: HubConfig, remotes: list[RemoteFile]) -> list[RemoteFile]:
    where = f"the hub at {hub.endpoint} ({entry.model_id} at {entry.version[:12]})"
    check_remote_names([r.path for r in remotes], store.staged_folder(entry.model_id), where)
    return remotes


def _fetch_one(
    name: str, entry: ModelEntry, remote: RemoteFile, hub: HubConfig
) -> tuple[store.FileRecord, bool]:
    """The staged file's record, and whether it matched a checksum the hub announced."""
    staged = store.staged_path(entry.model_id, remote.path)
    if remote.size is not None and (done := store.reuse_staged(
            staged, remote.size, sha256=remote.sha256, git_sha1=remote.git_sha1)):
        return done, remote.sha256 is not None or remote.git_sha1 is not None
    url = hf_hub_url(entry.model_id, remote.path, revision=entry.version, endpoint=hub.endpoint)
    try:
        meta = get_hf_file_metadata(
            url, token=hub.token, timeout=hub.timeout, endpoint=hub.endpoint
        )
    except RemoteEntryNotFoundError as exc:
        msg = f"the hub lists {remote.path} of {entry.model_id} but does not serve it; retry later"
        raise MissingFileError(msg) from exc
    except (*_NETWORK_ERRORS, HfHubHTTPError) as exc:
        raise _translate(exc, name, entry, hub) from exc
    if meta.commit_hash != entry.version:
        msg = f"the hub served {remote.path} from revision {meta.commit_hash}, not {entry.version}"
        raise RevisionError(msg)
    size = remote.size if remote.size is not None else meta.size
    etag = meta.etag or ""
    sha256 = remote.sha256 or (etag if _SHA256.fullmatch(etag) else None)
    git_sha1 = remote.git_sha1 or (etag if sha256 is None and _SHA1.fullmatch(etag) else None)
    headers = build_hf_headers(token=hub.token)
    if urlsplit(meta.location).netloc != urlsplit(url).netloc:
        headers.pop("authorization", None)  # never send the token to a CDN
    partial = store.partial_path(entry.model_id, remote.path)
    for attempt in (1, 2):
        try:
            with store.open_partial(partial, size) as handle:
                resumed = handle.tell()
                http_get(meta.location, handle, resume_size=resumed, headers=headers,
                         expected_size=size, displayed_filename=remote.path)
        except (*_NETWORK_ERRORS, HfHubHTTPError) as exc:
            raise _translate(exc, name, entry, hub) from exc
        except OSError as exc:
            if exc.errno is not None:
                raise  # a local disk problem, not the client's size consistency check
            partial.unlink(missing_ok=True)
            msg = f"download of {remote.path} of {entry.model_id} was cut short; run it again"
            raise CorruptDownloadError(msg) from exc
        expected = partial.stat().st_size if size is None else size
        try:
            record = store.finish_file(
                partial, staged, size=expected, sha256=sha256, git_sha1=git_sha1
            )
            return record, sha256 is not None or git_sha1 is not None
        except ValueError as exc:
            if attempt == 1 and resumed > 0:
                continue  # the bytes kept from an earlier run were bad: start that file over
            msg = f"{remote.path} of {entry.model_id} failed verification: {exc}; run it again"
            raise CorruptDownloadError(msg) from exc
    raise AssertionError  # unreachable: the loop returns or raises


def fetch_from_hub(name: str, entry: ModelEntry, hub: HubConfig | None = None) -> store.Manifest:
    """Fetch the entry's files into its staging folder; return the manifest to publish."""
    hub = hub or HubConfig.from_env()
    fetched = {
        remote.path: _fetch_one(name, entry, remote, hub)
        for remote in list_remote_files(name, entry, hub)
    }
    verified = all(checked for _, checked in fetched.values())
    return store.Manifest(
        model_id=entry.model_id,
        revision=entry.version,
        source=hub.endpoint,
        filelist=entry.filelist,
        files={path: record for path, (record, _) in fetched.items()},
        verified=verified,
        verified_against=(
            f"hub {hub.endpoint} revision {entry.version} (sha256 or git blob id of every file)"
            if verified else ""
        ),
    )
