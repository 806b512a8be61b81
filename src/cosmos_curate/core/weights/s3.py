"""Fetching one model's files from object storage: `<prefix>/<model id>/...` under `s3://`.

The layout is a model folder as this store writes it (e.g. uploaded with
`aws s3 sync <weights root>/<model id> s3://bucket/prefix/<model id>`). When that copy holds
the completion manifest, its revision must match the registry and every file is checked
against its sha256; otherwise sizes come from the listing. The download counts as verified
only when every file matched that manifest and the manifest itself was verified against its
source (a hub download synced up): an unverified copy stays unverified. Every key's name is
checked (`names.check_remote_names`) before anything is written. Transfers resume with `Range`.
The endpoint and credentials are boto3's usual ones (`AWS_ENDPOINT_URL_S3`, `AWS_PROFILE`, ...);
the files are read through `core.storage` (one S3 client maker, one URL parser).
"""

from __future__ import annotations

import attrs
from tqdm.auto import tqdm

from cosmos_curate.core.storage import DataFolder, StorageOptions, StorageURLError, parse_url
from cosmos_curate.core.storage.failures import Failure, classify
from cosmos_curate.core.utils import settings
from cosmos_curate.core.weights import store
from cosmos_curate.core.weights.errors import (
    CorruptDownloadError,
    MissingFileError,
    RevisionError,
    S3WeightsError,
    WeightsPrefixError,
)
from cosmos_curate.core.weights.names import check_remote_names
from cosmos_curate.core.weights.registry import ModelEntry

_CHUNK = 1024 * 1024


@attrs.frozen
class S3Location:
    """A parsed `s3://bucket/prefix` URL."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> S3Location:
        """Parse `s3://bucket[/prefix]`; anything else is a `WeightsPrefixError`."""
        try:
            location = parse_url(url)
        except StorageURLError:
            location = None
        if location is None or location.protocol != "s3":
            msg = f"--model-weights-prefix {url!r} must look like s3://bucket/prefix"
            raise WeightsPrefixError(msg)
        bucket, _, prefix = location.root.partition("/")
        return cls(bucket=bucket, prefix=prefix)

    def model_prefix(self, model_id: str) -> str:
        """Key prefix of one model's folder, ending with `/`."""
        return f"{self.prefix}/{model_id}/" if self.prefix else f"{model_id}/"

    def url(self, key: str = "") -> str:
        """The `s3://` URL of a key (or of the prefix itself)."""
        return f"s3://{self.bucket}/{key or self.prefix}"

    def model_folder(self, model_id: str) -> DataFolder:
        """One model's folder, reached with boto3's usual settings and `CURATE_S3_TIMEOUT`."""
        timeout = settings.s3_weights_timeout_s()
        return DataFolder(self.url(self.model_prefix(model_id)), StorageOptions(timeout_s=timeout))


def _translate(exc: Exception, where: str) -> S3WeightsError | None:
    """The one-line error of a store failure reading `where`; None when `exc` is not one."""
    found = classify(exc)
    if found is None:
        return None
    kind, code = found
    if kind is Failure.NO_CREDENTIALS:
        return S3WeightsError(
            f"no AWS credentials to read {where}; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
            "or AWS_PROFILE"
        )
    if kind is Failure.NO_BUCKET:
        return S3WeightsError(f"bucket of {where} does not exist; check --model-weights-prefix")
    if kind is Failure.DENIED:
        return S3WeightsError(f"access to {where} denied ({code}); check your AWS credentials")
    if kind is Failure.OTHER:
        return S3WeightsError(f"S3 error {code} reading {where}")
    return S3WeightsError(
        f"cannot reach S3 for {where}: {code}; check the network or AWS_ENDPOINT_URL_S3"
    )


def _listing(folder: DataFolder) -> dict[str, int]:
    return {entry.key: entry.size for entry in folder.list()}


def _remote_manifest(
    folder: DataFolder, loc: S3Location, entry: ModelEntry
) -> store.Manifest | None:
    key = loc.model_prefix(entry.model_id) + store.MANIFEST_NAME
    body = folder.read_bytes(store.MANIFEST_NAME).decode("utf-8")
    manifest = store.parse_manifest(body)
    if manifest is not None and manifest.revision != entry.version:
        msg = (
            f"{loc.url(key)} is revision {manifest.revision[:12]} of {entry.model_id}, the "
            f"registry pins {entry.version[:12]}; upload the pinned revision or fix 'version'"
        )
        raise RevisionError(msg)
    return manifest


def _fetch_one(folder: DataFolder, loc: S3Location, entry: ModelEntry, path: str, *, size: int,
               sha256: str | None) -> store.FileRecord:
    staged = store.staged_path(entry.model_id, path)
    if done := store.reuse_staged(staged, size, sha256=sha256):
        return done
    partial = store.partial_path(entry.model_id, path)
    key = loc.model_prefix(entry.model_id) + path
    with store.open_partial(partial, size) as handle:
        start = handle.tell()
        if start < size:
            with (
                folder.open_read(path) as body,
                tqdm(total=size, initial=start, unit="B", unit_scale=True, desc=path) as bar,
            ):
                body.seek(start)  # ranged reads from here on: only the missing bytes travel
                while chunk := body.read(_CHUNK):
                    handle.write(chunk)
                    bar.update(len(chunk))
    try:
        return store.finish_file(partial, staged, size=size, sha256=sha256)
    except ValueError as exc:
        msg = f"{loc.url(key)} failed verification: {exc}; run the download again"
        raise CorruptDownloadError(msg) from exc


def fetch_from_s3(name: str, entry: ModelEntry, url: str) -> store.Manifest:
    """Fetch the entry's files from `<url>/<model id>/` into its staging folder."""
    loc = S3Location.parse(url)
    where = loc.url(loc.model_prefix(entry.model_id))
    folder = loc.model_folder(entry.model_id)
    try:
        sizes = _listing(folder)
        if not sizes:
            msg = (
                f"no weights for {entry.model_id} ({name}) under {where}; upload the model folder "
                "there or use another --model-weights-prefix"
            )
            raise S3WeightsError(msg)
        remote = _remote_manifest(folder, loc, entry) if store.MANIFEST_NAME in sizes else None
        wanted = entry.filelist or [p for p in sizes if p != store.MANIFEST_NAME]
        absent = [p for p in wanted if p not in sizes]
        if absent:
            msg = f"{where} lacks {', '.join(absent)} listed in 'filelist' of entry {name!r}"
            raise MissingFileError(msg)
        check_remote_names(wanted, store.staged_folder(entry.model_id), where)
        known = remote.files if remote is not None else {}
        records = {
            path: _fetch_one(folder, loc, entry, path, size=sizes[path],
                             sha256=known[path].sha256 if path in known else None)
            for path in wanted
        }
    except Exception as exc:
        error = _translate(exc, where)
        if error is None:
            raise
        raise error from exc
    verified_by = _verified_by(loc, entry, remote, wanted)
    return store.Manifest(model_id=entry.model_id, revision=entry.version, source=loc.url(),
                          filelist=entry.filelist, files=records, verified=bool(verified_by),
                          verified_against=verified_by)


def _verified_by(
    loc: S3Location, entry: ModelEntry, remote: store.Manifest | None, wanted: list[str]
) -> str:
    """What the copy was verified against, or "" when it was not (no or unverified manifest)."""
    if remote is None or not remote.verified or any(p not in remote.files for p in wanted):
        return ""
    key = loc.model_prefix(entry.model_id) + store.MANIFEST_NAME
    return f"sha256 in {loc.url(key)}, itself verified against {remote.verified_against}"
