"""What the grid shows: a query (from the URL's parameters) applied to the index's rows."""

from __future__ import annotations

import math
from collections.abc import Mapping

import attrs

from cosmos_curate.view.index import SCORES, OutputIndex, Row

PER_PAGE = 60
MAX_PER_PAGE = 500


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _int(text: str | None, default: int, low: int, high: int) -> int:
    try:
        value = int(text) if text else default
    except ValueError:
        value = default
    return max(low, min(high, value))


@attrs.frozen
class Query:
    """One grid view: kept or dropped rows, search words, a score range, sort and page.

    Parameters (all optional): `view` (kept|dropped), `q` (words that must all appear in
    the caption, any case), `reason` (a dropped row's filter), `score` with `min`/`max`,
    `sort` (id or a score name), `order` (asc|desc), `page` (from 1), `per`.
    """

    view: str = "kept"
    words: tuple[str, ...] = ()
    reason: str | None = None
    score: str | None = None
    low: float | None = None
    high: float | None = None
    sort: str = "id"
    descending: bool = False
    page: int = 1
    per: int = PER_PAGE

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Query:
        """The query of a URL's parameters; unknown or malformed values fall back to defaults."""
        score = params.get("score")
        sort = params.get("sort", "id")
        return cls(
            view="dropped" if params.get("view") == "dropped" else "kept",
            words=tuple(params.get("q", "").casefold().split()),
            reason=params.get("reason") or None,
            score=score if score in SCORES else None,
            low=_number(params.get("min")),
            high=_number(params.get("max")),
            sort=sort if sort in SCORES else "id",
            descending=params.get("order") == "desc",
            page=_int(params.get("page"), 1, 1, 10**9),
            per=_int(params.get("per"), PER_PAGE, 1, MAX_PER_PAGE),
        )

    def matches(self, row: Row) -> bool:
        """Whether `row` belongs to this view."""
        if row.kept != (self.view == "kept"):
            return False
        if self.reason is not None and row.filtered_by != self.reason:
            return False
        if self.words:
            text = row.caption.casefold()
            if not all(word in text for word in self.words):
                return False
        if self.score is not None and (self.low is not None or self.high is not None):
            value = row.scores[SCORES.index(self.score)]
            if math.isnan(value):
                return False
            if (self.low is not None and value < self.low) or (
                self.high is not None and value > self.high
            ):
                return False
        return True


@attrs.frozen
class Page:
    """The rows of one page, how many rows match in all, and the dropped rows' reasons."""

    rows: list[Row]
    total: int
    reasons: dict[str, int]


def run_query(index: OutputIndex, query: Query) -> Page:
    """Filter, sort (rows without the score last) and cut one page."""
    found = [row for row in index.rows if query.matches(row)]
    if query.sort != "id":
        at = SCORES.index(query.sort)
        sign = -1.0 if query.descending else 1.0
        found.sort(key=lambda r: _score_key(r, at, sign))
    elif query.descending:
        found.reverse()
    start = (query.page - 1) * query.per
    return Page(found[start : start + query.per], len(found), index.reasons)


def _score_key(row: Row, at: int, sign: float) -> tuple[bool, float, str]:
    value = row.scores[at]
    missing = math.isnan(value)
    return missing, 0.0 if missing else sign * value, row.id
