"""The filter's and classifier's rules from their options, for any flag prefix.

Video-split (`--vlm-filter-*`, `--video-classifier-*`) and image-annotate
(`--semantic-filter-*`, `--image-classifier-*`) read their lists the same way; errors name
the caller's flags.
"""

from __future__ import annotations

from collections.abc import Sequence

from cosmos_curate.pipelines.semantic.answers import ClassifierRule, FilterRule
from cosmos_curate.pipelines.semantic.categories import (
    MEDIA_TYPE_LABELS,
    read_list_file,
    split_list,
)


def filter_rule(
    categories: str | None, defaults: Sequence[str], threshold: float, flag: str
) -> FilterRule:
    """The filter for the comma-separated `categories` (unset: `defaults`).

    `flag` is the option's prefix (`--vlm-filter`), for the error an empty list gives.
    """
    names = split_list(categories)
    if categories is not None and not names:
        msg = f"{flag}-categories: give at least one category"
        raise ValueError(msg)
    return FilterRule(tuple(names or defaults), threshold)


def listed_names(listed: str | None, file: str | None, flag: str) -> list[str]:
    """Names from the comma-separated flag and the file, flag's first, without repeats."""
    names = split_list(listed)
    if listed is not None and not names:
        msg = f"{flag}: give at least one type"
        raise ValueError(msg)
    if file is not None:
        try:
            names += read_list_file(file)
        except ValueError as error:
            msg = f"{flag}-file {error}"
            raise ValueError(msg) from error
    return list(dict.fromkeys(names))


def classifier_rule(
    allow: Sequence[str], block: Sequence[str], custom: bool, threshold: float, flag: str
) -> ClassifierRule:
    """The classifier for these allow and block lists (`flag`: the prefix, for errors).

    Without `custom`, the lists must name upstream's media types, which are then the labels;
    with it, the lists are the whole category set (and one must be given).
    """
    if custom and not (allow or block):
        msg = f"{flag}-use-custom-categories needs {flag}-allow or {flag}-block"
        raise ValueError(msg)
    if not custom:
        for which, names in (("allow", allow), ("block", block)):
            unknown = [n for n in names if n not in MEDIA_TYPE_LABELS]
            if unknown:
                msg = (
                    f"{flag}-{which}: unknown type {unknown[0]!r} (one of "
                    f"{', '.join(MEDIA_TYPE_LABELS)}; or {flag}-use-custom-categories)"
                )
                raise ValueError(msg)
    labels = tuple(dict.fromkeys([*allow, *block])) if custom else MEDIA_TYPE_LABELS
    return ClassifierRule(labels, tuple(allow), tuple(block), threshold, custom)
