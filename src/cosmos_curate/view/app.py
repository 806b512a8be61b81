"""The review app: read-only routes over one output's index and files (Starlette).

`/` and `/clip/<id>` are the page (its script asks the JSON routes); `/api/items` is the
grid (query parameters as `Query`), `/api/item/<id>` one item's record, `/api/failures`
the run's failure records, `/files/<path>` a file under the output (HTTP range requests
for seeking), `/report` the run's report page. With a dedup output, `/api/dedup` is what an
eps keeps and removes; with a shard output, `/api/shards` its buckets and tars,
`/api/tar/<path>` a tar's samples and `/member/<path>?name=` one member's bytes (ranges
too). The output may be local or on a store (`source.Source`); handlers that read files
are plain functions, run in a thread, so a slow store never blocks the event loop. Only GET
and HEAD exist: nothing writes.
"""

from __future__ import annotations

import json
import math
import secrets
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cosmos_curate.core.interfaces.results import parse_failure_records
from cosmos_curate.view.extras import DedupRoutes, ShardRoutes
from cosmos_curate.view.index import SCORES, OutputIndex, Row
from cosmos_curate.view.outputs import Opened
from cosmos_curate.view.paths import not_found
from cosmos_curate.view.query import Query, run_query
from cosmos_curate.view.run_report import find_report

TOKEN_COOKIE = "curate_view_token"


class TokenGate:
    """Answers 403 unless the request carries the token (`?token=` once, then a cookie)."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.token is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        given = request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE) or ""
        if not secrets.compare_digest(given.encode(), self.token.encode()):
            denied = Response("a token is needed: open the URL curate view printed\n", 403)
            await denied(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = f"{TOKEN_COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _static(name: str) -> str:
    return resources.files("cosmos_curate.view").joinpath("static", name).read_text("utf-8")


def _scores(row: Row) -> dict[str, float | None]:
    return {n: (None if math.isnan(v) else v) for n, v in zip(SCORES, row.scores, strict=True)}


def _file_url(key: str | None) -> str | None:
    return None if key is None else "/files/" + key


def row_json(row: Row) -> dict[str, Any]:
    """What the grid shows of one row."""
    return {
        "id": row.id,
        "kept": row.kept,
        "media": _file_url(row.media),
        "preview": _file_url(row.preview),
        "caption": row.caption[:300],
        "scores": _scores(row),
        "filtered_by": row.filtered_by,
        "reason": row.reason,
    }


class ViewRoutes:
    """The route handlers over one index."""

    def __init__(self, opened: Opened) -> None:
        self.index = opened.index
        self.source = opened.index.source
        self.views = {"dedup": opened.dedup is not None, "shards": opened.shards is not None}
        self.report_path = find_report(self.source)

    async def page(self, request: Request) -> Response:
        return HTMLResponse(_static("index.html"))

    async def asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        types = {"view.js": "text/javascript", "view.css": "text/css"}
        if name not in types:
            return not_found()
        return Response(_static(name), media_type=types[name])

    async def items(self, request: Request) -> Response:
        query = Query.parse(request.query_params)
        page = run_query(self.index, query)
        return JSONResponse(
            {
                "kind": self.index.kind,
                "root": str(self.source),
                "total": page.total,
                "page": query.page,
                "per": query.per,
                "scores": list(SCORES),
                "reasons": page.reasons,
                "kept": len(self.index.rows) - sum(page.reasons.values()),
                "has_report": self.report_path is not None,
                "views": self.views,
                "items": [row_json(r) for r in page.rows],
            }
        )

    def item(self, request: Request) -> Response:
        row = self.index.row(request.path_params["item_id"])
        data = None if row is None else self.source.read(row.meta)
        if row is None or data is None:
            return not_found()
        try:
            record = json.loads(data)
        except ValueError:
            return not_found()
        siblings = [
            {"id": r.id, "kept": r.kept, "start_s": r.start_s} for r in self.index.siblings(row)
        ]
        return JSONResponse({**row_json(row), "record": record, "siblings": siblings})

    def failures(self, request: Request) -> Response:
        records = []
        keys = [k for k in self.source.keys("failures") if k.count("/") == 1]
        for key, data in self.source.read_many([k for k in keys if k.endswith(".jsonl")]):
            run = key.removeprefix("failures/").removesuffix(".jsonl")
            for record in parse_failure_records(data.decode("utf-8", "replace")):
                records.append(
                    {"run": run, "stage": record.stage, "error": record.error,
                     "attempts": record.attempts, "task": record.task_repr[:500],
                     "timestamp": record.timestamp}
                )  # fmt: skip
        return JSONResponse({"failures": records})

    def file(self, request: Request) -> Response:
        return self.source.response(request.path_params["key"], request.headers.get("range"))

    def report(self, request: Request) -> Response:
        found = self.report_path
        if isinstance(found, str):
            return self.source.response(found, request.headers.get("range"))
        return not_found() if found is None else FileResponse(found)


def create_app(opened: Opened | OutputIndex, token: str | None = None) -> Starlette:
    """The app serving `opened`; with `token`, every request must carry it."""
    opened = opened if isinstance(opened, Opened) else Opened(opened)
    routes = ViewRoutes(opened)
    get = ["GET", "HEAD"]
    extra: list[Route] = []
    if opened.dedup is not None:
        dedup = DedupRoutes(opened.dedup, opened.index, row_json)
        extra += [
            Route("/dedup", routes.page, methods=get),
            Route("/api/dedup", dedup.eps_view, methods=get),
        ]
    if opened.shards is not None:
        shards = ShardRoutes(opened.shards)
        extra += [
            Route("/shards", routes.page, methods=get),
            Route("/tar/{path:path}", routes.page, methods=get),
            Route("/api/shards", shards.buckets, methods=get),
            Route("/api/tar/{path:path}", shards.tar, methods=get),
            Route("/member/{path:path}", shards.member, methods=get),
        ]
    return Starlette(
        routes=[
            *extra,
            Route("/", routes.page, methods=get),
            Route("/clip/{item_id:path}", routes.page, methods=get),
            Route("/dropped", routes.page, methods=get),
            Route("/failures", routes.page, methods=get),
            Route("/static/{name}", routes.asset, methods=get),
            Route("/api/items", routes.items, methods=get),
            Route("/api/item/{item_id:path}", routes.item, methods=get),
            Route("/api/failures", routes.failures, methods=get),
            Route("/files/{key:path}", routes.file, methods=get),
            Route("/report", routes.report, methods=get),
        ],
        middleware=[Middleware(TokenGate, token=token)],
    )
