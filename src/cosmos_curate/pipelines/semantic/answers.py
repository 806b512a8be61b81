"""Reading a VLM's yes/no answers and deciding per clip (or image) from its windows' answers.

Rules as upstream Cosmos-Curate's semantic filter and classifier:
- filter: a window is rejected when it shows any of the categories; the clip fails when
  more than `rejection_threshold` of its windows are rejected, or when no window's answer
  could be read;
- classifier: with an allow list, the clip passes only if some window belongs to an allowed
  category; with a block list, it fails when more than `rejection_threshold` of its windows
  belong to a blocked one. Its labels are every category some window belongs to
  (`unclassified` with custom categories and none).
Both are frozen and picklable: stages carry them to Ray workers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import attrs

from cosmos_curate.pipelines.semantic.categories import key

UNREADABLE = "unreadable answer"
ANSWER_KEPT_CHARS = 500  # of each raw answer, in the metadata
_PAIR = re.compile(r'"([^"]+)"\s*:\s*"?(yes|no|true|false)\b', re.IGNORECASE)


def _json_object(text: str) -> str | None:
    """The first balanced `{...}` of the text, or None."""
    start = text.find("{")
    if start < 0:
        return None
    depth = 0
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start : i + 1]
    return None


def _truth(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("yes", "true", "no", "false"):
        return value.strip().lower() in ("yes", "true")
    return None


def parse_answer(text: str) -> dict[str, bool] | None:
    """`{category key: yes?}` from a model's answer, or None when it holds no yes/no pair.

    Reasoning before a closing `</think>` is skipped; a JSON object is read when it parses,
    otherwise the `"name": "yes"` pairs in the text (models often break JSON slightly).
    """
    text = text.rsplit("</think>", 1)[-1]
    found: dict[str, bool] = {}
    body = _json_object(text)
    try:
        loaded = json.loads(body) if body is not None else None
    except json.JSONDecodeError:
        loaded = None
    if isinstance(loaded, dict):
        for name, value in loaded.items():
            truth = _truth(value)
            if truth is not None:
                found[key(str(name))] = truth
    if not found:
        for name, value in _PAIR.findall(text):
            found[key(name)] = value.lower() in ("yes", "true")
    return found or None


@attrs.frozen
class WindowAnswer:
    """One window's answer: the categories it said yes to, or why it could not be read."""

    answer: str
    yes: tuple[str, ...] = ()
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (the raw answer cut to `ANSWER_KEPT_CHARS`)."""
        return {
            "answer": self.answer[:ANSWER_KEPT_CHARS],
            "yes": list(self.yes),
            "error": self.error,
        }


@attrs.frozen
class SemanticVerdict:
    """The decision on one clip: passed or not, why not, and what its windows said."""

    passed: bool
    reason: str | None
    labels: tuple[str, ...]
    rejected_windows: int
    windows: tuple[WindowAnswer, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "passed": self.passed,
            "reason": self.reason,
            "labels": list(self.labels),
            "rejected_windows": self.rejected_windows,
            "windows": [w.to_dict() for w in self.windows],
        }


def read_windows(answers: Sequence[str], categories: Sequence[str]) -> list[WindowAnswer]:
    """Each answer as the categories (of `categories`) it said yes to."""
    read = []
    for answer in answers:
        parsed = parse_answer(answer)
        if parsed is None:
            read.append(WindowAnswer(answer, error=UNREADABLE))
        else:
            read.append(WindowAnswer(answer, tuple(c for c in categories if parsed.get(key(c)))))
    return read


def _share(count: int, total: int, threshold: float) -> str:
    return f"{count} of {total} windows (> {threshold:g})"


@attrs.frozen
class FilterRule:
    """The semantic filter: reject clips showing any of `categories` in too many windows."""

    categories: tuple[str, ...]
    rejection_threshold: float = 0.5

    def judge(self, answers: Sequence[str]) -> SemanticVerdict:
        """The verdict from the clip's windows' answers, in window order."""
        windows = read_windows(answers, self.categories)
        rejected = [w for w in windows if w.yes]
        seen = tuple(c for c in self.categories if any(c in w.yes for w in windows))
        reason = None
        if windows and all(w.error for w in windows):
            reason = f"no window's answer could be read ({len(windows)} windows)"
        elif windows and len(rejected) / len(windows) > self.rejection_threshold:
            shows = ", ".join(seen)
            reason = (
                f"shows {shows} in {_share(len(rejected), len(windows), self.rejection_threshold)}"
            )
        return SemanticVerdict(reason is None, reason, seen, len(rejected), tuple(windows))


@attrs.frozen
class ClassifierRule:
    """The classifier: label clips; keep those of an allowed category, reject blocked ones.

    `labels` are the categories the model is asked about (the allow and block lists must be
    among them).
    """

    labels: tuple[str, ...]
    allow: tuple[str, ...] = ()
    block: tuple[str, ...] = ()
    rejection_threshold: float = 0.5
    custom: bool = False

    def judge(self, answers: Sequence[str]) -> SemanticVerdict:
        """The verdict from the clip's windows' answers, in window order."""
        windows = read_windows(answers, self.labels)
        seen = tuple(c for c in self.labels if any(c in w.yes for w in windows))
        blocked = [w for w in windows if any(c in w.yes for c in self.block)]
        reason = None
        if self.allow and not any(c in w.yes for w in windows for c in self.allow):
            unread = sum(1 for w in windows if w.error)
            note = f"; {unread} of {len(windows)} answers unreadable" if unread else ""
            reason = f"no window shows an allowed category ({', '.join(self.allow)}){note}"
        elif windows and len(blocked) / len(windows) > self.rejection_threshold:
            shown = ", ".join(c for c in self.block if any(c in w.yes for w in blocked))
            share = _share(len(blocked), len(windows), self.rejection_threshold)
            reason = f"shows blocked {shown} in {share}"
        labels = seen or (("unclassified",) if self.custom else ())
        return SemanticVerdict(reason is None, reason, labels, len(blocked), tuple(windows))
