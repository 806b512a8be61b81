"""Category lists: upstream Cosmos-Curate's defaults, and user lists from flags or files."""

from __future__ import annotations

from pathlib import Path

# Upstream's default semantic-filter criteria for video (`--vlm-filter-categories` unset).
VIDEO_FILTER_CATEGORIES: tuple[str, ...] = (
    "slideshow",
    "synthetic video",
    "visual filter",
    "post-production text",
    "video in video",
    "photographic artifacts",
    "distorted view",
    "rotated view",
    "low resolution",
    "blurred region",
    "abrupt camera motion",
    "fast zoom",
    "unnatural speed",
)

# image-annotate's default (`--semantic-filter-categories` unset): the video list without
# what only motion shows (camera motion, zoom, speed) or only a clip has (video in video).
IMAGE_FILTER_CATEGORIES: tuple[str, ...] = tuple(
    c
    for c in VIDEO_FILTER_CATEGORIES
    if c
    not in ("slideshow", "video in video", "abrupt camera motion", "fast zoom", "unnatural speed")
)

# Upstream's media-type taxonomy: the classifier's labels unless custom categories are used.
MEDIA_TYPE_LABELS: tuple[str, ...] = (
    "movie/film_scene",
    "tv_drama/tv_series",
    "animation",
    "cartoon",
    "video_game",
    "news_reporting",
    "talk_show",
    "product_review/unboxing",
    "how_to/demo",
    "digital_illustration/digital_text",
    "visual_pattern",
    "egocentric_video/walking_POV",
    "vehicle_POV",
    "aerial_footage",
    "travel/luggage/plane",
    "food/drink",
    "cooking",
    "sports/exercise",
    "clothing/fashion/makeup",
    "exterior_building/cityscape",
    "interior_spaces",
    "nature_environment",
    "animal/insect/wildlife",
    "pets",
    "person/crowd",
    "talking_head",
    "other",
)


def key(category: str) -> str:
    """How a category is matched in an answer: lower case, spaces as underscores."""
    return "_".join(category.lower().split())


def split_list(text: str | None) -> list[str]:
    """The names of a comma-separated list, stripped, empty ones left out, order kept."""
    if text is None:
        return []
    names = [name.strip() for name in text.split(",")]
    return list(dict.fromkeys(name for name in names if name))


def read_list_file(path: str) -> list[str]:
    """The names in a file, one per line (blank lines skipped); a missing or empty file raises."""
    file = Path(path)
    if not file.is_file():
        msg = f"{path}: no such file"
        raise ValueError(msg)
    names = [line.strip() for line in file.read_text(encoding="utf-8").splitlines()]
    found = list(dict.fromkeys(name for name in names if name))
    if not found:
        msg = f"{path}: no category in the file"
        raise ValueError(msg)
    return found
