"""`curate view` as a user meets it: a real server process, real HTTP, a real output."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from tests.support import curate_in_process
from tests.view._output import WAIT_S, Viewer, get, get_json, make_output


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("view")
    runs = root / "runs"
    out = make_output(root, runs)
    (out / "clips" / "escape.mp4").symlink_to(root / "sample.mp4")  # a link out of PATH
    return out, runs


@pytest.fixture(scope="module")
def viewer(output: tuple[Path, Path]) -> Iterator[Viewer]:
    served = Viewer.start(*output)
    yield served
    served.stop()


def raw_get(url: str, path: str) -> int:
    """Status of a GET whose path is sent byte for byte (no client-side normalisation)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=WAIT_S)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


def test_grid_lists_kept_clips_with_previews_and_pages(viewer: Viewer) -> None:
    """The grid: every kept clip once over the pages, each with its webp preview and video."""
    first = get_json(viewer.base() + "api/items?per=2")
    second = get_json(viewer.base() + "api/items?per=2&page=2")
    assert first["total"] == 3 and first["kind"] == "video-split"
    items = [*first["items"], *second["items"]]  # type: ignore[misc]
    assert sorted(i["id"] for i in items) == sorted(
        ["city-0002_0000000_0000060", "kite-0001_0000000_0000060", "kite-0001_0000060_0000120"]
    )
    for item in items:
        status, headers, body = get(viewer.base() + item["preview"].lstrip("/"))
        assert status == 200 and headers["content-type"] == "image/webp" and body[8:12] == b"WEBP"
        assert item["media"].endswith(".mp4")


def test_clip_page_record_has_windows_scores_span_and_siblings(viewer: Viewer) -> None:
    """A clip's page: each caption window, model and prompt, scores, span, codecs, siblings."""
    data = get_json(viewer.base() + "api/item/kite-0001_0000000_0000060")
    record = data["record"]
    assert isinstance(record, dict)
    assert [w["caption"] for w in record["windows"]] == [
        "A red kite drifts over a grey sea.",
        "The kite dips low.",
    ]
    assert record["caption_model"] == "Qwen/Qwen2.5-VL-7B-Instruct"
    assert record["caption_prompt"] == "Describe the video in detail."
    assert record["scores"]["aesthetic"] == 4.0 and record["video_codec"] == "h264"
    assert record["span"]["start_frame"] == 0 and record["span"]["end_frame"] == 60
    assert [s["id"] for s in data["siblings"]] == [  # type: ignore[union-attr]
        "kite-0001_0000000_0000060",
        "kite-0001_0000060_0000120",
    ]
    assert get(viewer.base() + "api/item/no-such-clip")[0] == 404


def test_clip_video_answers_range_requests(viewer: Viewer, output: tuple[Path, Path]) -> None:
    """Seeking: a Range request gets 206 and exactly those bytes of the clip's mp4."""
    key = "clips/kite-0001_0000000_0000060.mp4"
    whole = (output[0] / key).read_bytes()
    status, headers, body = get(viewer.base() + "files/" + key, {"Range": "bytes=1000-1999"})
    assert status == 206 and body == whole[1000:2000]
    assert headers["content-range"] == f"bytes 1000-1999/{len(whole)}"
    assert headers["accept-ranges"] == "bytes"
    status, _, body = get(viewer.base() + "files/" + key, {"Range": "bytes=-100"})
    assert status == 206 and body == whole[-100:]


def test_search_sort_and_score_filter(viewer: Viewer) -> None:
    """Search is over captions in any case; sort and filter by a score."""
    ids = lambda query: [i["id"] for i in get_json(viewer.base() + "api/items?" + query)["items"]]  # type: ignore[attr-defined]  # noqa: E731
    assert ids("q=KITE") == ["kite-0001_0000000_0000060"]
    assert ids("q=wet+street") == ["city-0002_0000000_0000060"]
    assert ids("q=no-such-word") == []
    assert ids("sort=aesthetic&order=desc") == [
        "city-0002_0000000_0000060",
        "kite-0001_0000060_0000120",
        "kite-0001_0000000_0000060",
    ]
    assert ids("score=motion&min=1.0&max=2.0") == ["kite-0001_0000060_0000120"]


def test_dropped_clips_with_reasons_and_failures(viewer: Viewer) -> None:
    """Dropped clips show filter and reason, filterable by reason; failure records listed."""
    dropped = get_json(viewer.base() + "api/items?view=dropped")
    assert dropped["reasons"] == {"aesthetic": 1, "motion": 1}
    motion = get_json(viewer.base() + "api/items?view=dropped&reason=motion")["items"]
    assert [(i["id"], i["reason"]) for i in motion] == [  # type: ignore[attr-defined]
        ("city-0002_0000060_0000120", "motion_global_mean 0.0001 < 0.00098")
    ]
    failures = get_json(viewer.base() + "api/failures")["failures"]
    assert [(f["stage"], f["error"]) for f in failures] == [  # type: ignore[attr-defined]
        ("TranscodeStage", "ValueError: moov atom not found")
    ]


def test_report_is_served(viewer: Viewer) -> None:
    """The run's report.html (in its run folder) is one link away."""
    assert get_json(viewer.base() + "api/items")["has_report"] is True
    status, _, body = get(viewer.base() + "report")
    assert status == 200 and b"the run's report" in body


@pytest.mark.parametrize(
    "path",
    [
        "/files/../sample.mp4",
        "/files/%2e%2e/sample.mp4",
        "/files/%2E%2E%2Fsample.mp4",
        "/files/clips/%2e%2e/%2e%2e/sample.mp4",
        "/files//etc/passwd",
        "/files/%2fetc%2fpasswd",
        "/files/clips/escape.mp4",
        "/files/clips",
    ],
)
def test_nothing_outside_path_is_served(viewer: Viewer, path: str) -> None:
    """`..`, encoded `..`, absolute paths, links out of PATH and folders are 404s."""
    assert raw_get(viewer.base(), path) == 404


def test_read_only(viewer: Viewer, output: tuple[Path, Path]) -> None:
    """Only GET and HEAD: a POST or DELETE is refused and nothing under PATH changes."""
    before = sorted(p.relative_to(output[0]) for p in output[0].rglob("*"))
    parts = urlsplit(viewer.base())
    for method in ("POST", "DELETE", "PUT"):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=WAIT_S)
        conn.request(method, "/files/clips/kite-0001_0000000_0000060.mp4", body=b"x")
        assert conn.getresponse().status == 405
        conn.close()
    assert sorted(p.relative_to(output[0]) for p in output[0].rglob("*")) == before


def test_other_host_needs_the_token(output: tuple[Path, Path]) -> None:
    """Bound to another address, the server answers 403 without the printed URL's token."""
    served = Viewer.start(*output, "--host", "127.0.0.2")
    try:
        assert "token=" in served.url and served.base().startswith("http://127.0.0.2:")
        assert get(served.base() + "api/items")[0] == 403
        assert get(served.base() + "api/items?token=wrong")[0] == 403
        status, headers, _ = get(served.url)
        assert status == 200
        cookie = headers["set-cookie"].split(";")[0]
        assert get(served.base() + "api/items", {"Cookie": cookie})[0] == 200
    finally:
        served.stop()


def test_ctrl_c_exits_130(output: tuple[Path, Path]) -> None:
    """SIGINT to a serving `curate view` stops it with exit code 130."""
    served = Viewer.start(*output)
    assert get(served.base())[0] == 200
    assert served.stop() == 130


def test_port_in_use_and_bad_path_are_rejected(output: tuple[Path, Path], tmp_path: Path) -> None:
    """A taken port or a folder that is no output: one `error:` line, exit 2, nothing served.

    Both are refused before anything is served, so `curate view` runs in this process."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        result = curate_in_process("view", str(output[0]), "--port", port)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("error:") == 1 and f"127.0.0.1:{port}" in result.stderr
    result = curate_in_process("view", str(tmp_path), "--port", "0")
    assert result.returncode == 2 and result.stdout == ""
    assert "error:" in result.stderr and "video-split" in result.stderr
