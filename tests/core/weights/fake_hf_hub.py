"""A small Hugging Face hub on 127.0.0.1 that the real `huggingface_hub` client can talk to.

Speaks the parts of the hub protocol that downloads use:
- `GET /api/models/<repo>/revision/<rev>[?blobs=true]`: model info with siblings (size, blobId,
  lfs sha256), `sha` = the resolved commit.
- `GET /api/models/<repo>/tree/<rev>`: the file listing.
- `HEAD|GET /<repo>/resolve/<rev>/<file>`: regular files answer 200 with `ETag` (git blob id),
  `X-Repo-Commit`, `Content-Length`, `Accept-Ranges`; LFS files (`*.safetensors`, `*.bin`)
  answer 302 to `<cdn>/lfs/<sha256>` (host `localhost`: another host, like the hub's CDN)
  with `X-Linked-Etag` / `X-Linked-Size`, as the real hub does.
- `Range: bytes=N-` on every download (206 + `Content-Range`).
- Errors carry `X-Error-Code` (`RepoNotFound`, `RevisionNotFound`, `EntryNotFound`).
Faults for tests: stall a transfer after N bytes, cut it after N bytes, serve wrong bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin", ".pt")
_API = re.compile(
    r"^/api/models/(?P<repo>.+?)/(?P<kind>revision|tree)/(?P<rev>[^/]+)(?:/(?P<path>.*))?$"
)
_RESOLVE = re.compile(r"^/(?P<repo>.+?)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_LFS = re.compile(r"^/lfs/(?P<sha>[0-9a-f]{64})$")


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a file, what the hub reports as a non-LFS file's blobId/ETag."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Request:
    """One request the hub received."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Repo:
    """A model repository: commits (sha -> files), the `main` commit, an optional token."""

    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    main: str = ""
    token: str | None = None


@dataclass
class Faults:
    """Misbehaviours to inject into downloads of a file name (the repo path)."""

    stall_after: dict[str, int] = field(default_factory=dict)
    cut_after: dict[str, int] = field(default_factory=dict)
    cut_times: dict[str, int] = field(default_factory=dict)
    wrong_bytes: set[str] = field(default_factory=set)
    stalled: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class FakeHub:
    """The server; `url` goes into `HF_ENDPOINT`."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.requests: list[Request] = []
        self.faults = Faults()
        self.bytes_sent: dict[str, int] = {}
        self._blobs: dict[str, tuple[str, bytes]] = {}  # sha256 -> (path, data)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:PORT."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def cdn_url(self) -> str:
        """Same server under another host name, standing in for the hub's LFS CDN."""
        return self.url.replace("127.0.0.1", "localhost")

    def start(self) -> FakeHub:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release stalled transfers."""
        self.faults.release.set()
        self._server.shutdown()
        self._server.server_close()

    def add_commit(self, repo_id: str, sha: str, files: dict[str, bytes], *, main: bool = True,
                   token: str | None = None) -> None:
        """Add (or extend) a repo with one commit of files; `main` makes it the default branch."""
        repo = self.repos.setdefault(repo_id, Repo())
        repo.commits[sha] = dict(files)
        repo.token = token if token is not None else repo.token
        if main or not repo.main:
            repo.main = sha
        for path, data in files.items():
            self._blobs[hashlib.sha256(data).hexdigest()] = (path, data)

    def reset_log(self) -> None:
        """Forget the recorded requests and byte counts."""
        with self._lock:
            self.requests.clear()
            self.bytes_sent.clear()

    def data_requests(self) -> list[Request]:
        """GET requests that transfer file bytes (resolve of regular files, LFS blobs)."""
        return [r for r in self.requests if r.method == "GET" and (
            r.path.startswith("/lfs/") or "/resolve/" in r.path)]

    # -- used by the handler ----------------------------------------------------------
    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def count_sent(self, path: str, n: int) -> None:
        with self._lock:
            self.bytes_sent[path] = self.bytes_sent.get(path, 0) + n

    def blob(self, sha256: str) -> tuple[str, bytes] | None:
        return self._blobs.get(sha256)


def _is_lfs(path: str) -> bool:
    return path.endswith(LFS_SUFFIXES)


def _handler_for(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_HEAD(self) -> None:
            self._dispatch(head=True)

        def do_GET(self) -> None:
            self._dispatch(head=False)

        # -- routing ---------------------------------------------------------------------
        def _dispatch(self, *, head: bool) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            hub.record(Request(self.command, self.path, headers))
            split = urlsplit(self.path)
            path, query = split.path, parse_qs(split.query)
            if m := _API.match(path):
                self._api(m["repo"], m["kind"], unquote(m["rev"]), query)
            elif m := _LFS.match(path):
                found = hub.blob(m["sha"])
                if found is None:
                    self._error(404, "EntryNotFound", {})
                else:
                    self._send_bytes(found[0], found[1], head=head, extra={})
            elif m := _RESOLVE.match(path):
                self._resolve(m["repo"], unquote(m["rev"]), unquote(m["path"]), head=head)
            else:
                self._error(404, "", {})

        def _repo_commit(self, repo_id: str, rev: str) -> tuple[Repo, str] | None:
            repo = hub.repos.get(repo_id)
            if repo is None:
                self._error(404, "RepoNotFound", {}, "Repository not found")
                return None
            auth = self.headers.get("Authorization")
            if repo.token is not None and auth != f"Bearer {repo.token}":
                message = ("Invalid credentials in Authorization header" if auth
                           else "Invalid username or password.")
                self._error(401, "RepoNotFound", {}, message)
                return None
            sha = repo.main if rev == "main" else rev
            if sha not in repo.commits:
                self._error(404, "RevisionNotFound", {}, f"Invalid rev id: {rev}")
                return None
            return repo, sha

        # -- endpoints -----------------------------------------------------------------
        def _api(self, repo_id: str, kind: str, rev: str, query: dict[str, list[str]]) -> None:
            found = self._repo_commit(repo_id, rev)
            if found is None:
                return
            repo, sha = found
            files = repo.commits[sha]
            if kind == "tree":
                body: object = [
                    {"type": "file", "path": p, "size": len(d), "oid": git_blob_sha1(d),
                     **({"lfs": _lfs(d)} if _is_lfs(p) else {})}
                    for p, d in files.items()
                ]
            else:
                blobs = query.get("blobs", ["false"])[0].lower() == "true"
                siblings = []
                for p, d in files.items():
                    sib: dict[str, object] = {"rfilename": p}
                    if blobs:
                        sib.update(size=len(d), blobId=git_blob_sha1(d))
                        if _is_lfs(p):
                            sib["lfs"] = _lfs(d)
                    siblings.append(sib)
                body = {"_id": repo_id, "id": repo_id, "modelId": repo_id, "sha": sha,
                        "private": repo.token is not None, "siblings": siblings, "tags": []}
            self._send_json(body)

        def _resolve(self, repo_id: str, rev: str, path: str, *, head: bool) -> None:
            found = self._repo_commit(repo_id, rev)
            if found is None:
                return
            repo, sha = found
            data = repo.commits[sha].get(path)
            if data is None:
                self._error(404, "EntryNotFound", {"X-Repo-Commit": sha}, "Entry not found")
                return
            if _is_lfs(path):
                digest = hashlib.sha256(data).hexdigest()
                self.send_response(302)
                # Another host name, as the real hub's CDN: the client must not follow the HEAD
                # redirect (metadata is on this response) nor send the token there.
                self.send_header("Location", f"{hub.cdn_url}/lfs/{digest}")
                self.send_header("X-Repo-Commit", sha)
                self.send_header("X-Linked-Etag", f'"{digest}"')
                self.send_header("X-Linked-Size", str(len(data)))
                self.send_header("ETag", f'"{git_blob_sha1(data)}"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            extra = {"X-Repo-Commit": sha, "ETag": f'"{git_blob_sha1(data)}"'}
            self._send_bytes(path, data, head=head, extra=extra)

        # -- responses -----------------------------------------------------------------
        def _send_json(self, body: object) -> None:
            raw = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _error(self, status: int, code: str, extra: dict[str, str], message: str = "") -> None:
            raw = json.dumps({"error": message or "not found"}).encode()
            self.send_response(status)
            if code:
                self.send_header("X-Error-Code", code)
            if message:
                self.send_header("X-Error-Message", message)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _send_bytes(self, name: str, data: bytes, *, head: bool, extra: dict[str, str]) -> None:
            if name in hub.faults.wrong_bytes:
                data = bytes(b ^ 0xFF for b in data[:16]) + data[16:]
            start = 0
            rng = self.headers.get("Range")
            if rng and (m := re.match(r"bytes=(\d+)-(\d*)$", rng)):
                start = int(m[1])
                if start >= len(data):
                    self._error(416, "", {"Content-Range": f"bytes */{len(data)}"})
                    return
                end = int(m[2]) if m[2] else len(data) - 1
                body = data[start:end + 1]
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            else:
                body = data
                self.send_response(200)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if head:
                return
            self._stream(name, start, body)

        def _stream(self, name: str, start: int, body: bytes) -> None:
            faults = hub.faults
            limit = len(body)
            stall = faults.stall_after.get(name)
            cut = faults.cut_after.get(name) if faults.cut_times.get(name, 0) > 0 else None
            if stall is not None and start < stall:
                limit = stall - start
            elif cut is not None:
                faults.cut_times[name] -= 1
                limit = max(cut - start, 1) if start < cut else min(len(body), 64 * 1024)
            for chunk in _chunks(body[:limit]):
                self.wfile.write(chunk)
                hub.count_sent(name, len(chunk))
            if limit < len(body):
                self.wfile.flush()
                if stall is not None and start < stall:
                    faults.stalled.set()
                    faults.release.wait(timeout=120)
                self.close_connection = True
                return

    return Handler


def _lfs(data: bytes) -> dict[str, object]:
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "pointerSize": 134}


def _chunks(data: bytes, size: int = 256 * 1024) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]
