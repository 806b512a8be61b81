"""Buckets and the tar plan: upstream's bins, options, determinism, sizes and parts."""

from __future__ import annotations

import pytest

from cosmos_curate.pipelines.video.shard.buckets import BucketSpec, parse_ratio
from cosmos_curate.pipelines.video.shard.left_out import LeftOut
from cosmos_curate.pipelines.video.shard.plan import ClipEntry, PlanSettings, make_plan


@pytest.mark.parametrize(
    ("w", "h", "seconds", "bucket"),
    [
        (1920, 1080, 6.0, "resolution_1080/aspect_ratio_16_9/duration_5_10"),
        (1280, 720, 12.0, "resolution_720/aspect_ratio_16_9/duration_10_30"),
        (720, 1280, 45.0, "resolution_720/aspect_ratio_9_16/duration_30_inf"),
        (640, 480, 5.0, "resolution_0/aspect_ratio_4_3/duration_5_10"),
        (1080, 1080, 9.9, "resolution_1080/aspect_ratio_1_1/duration_5_10"),
        (768, 1024, 7.0, "resolution_720/aspect_ratio_3_4/duration_5_10"),
    ],
)
def test_default_buckets_match_upstream_bins(w: int, h: int, seconds: float, bucket: str) -> None:
    """Resolution by the shorter side, aspect by upstream's edges, duration 5/10/30 s."""
    assert BucketSpec().bucket_of(w, h, seconds) == (bucket, "")


def test_aspect_edges_are_upstreams() -> None:
    """w/h 1.55 is still 4:3 and 1.56 is 16:9 (upstream's edge 1.55); 0.65 is 9:16."""
    spec = BucketSpec()
    assert "4_3" in str(spec.bucket_of(155, 100, 6)[0])
    assert "16_9" in str(spec.bucket_of(156, 100, 6)[0])
    assert "9_16" in str(spec.bucket_of(65, 100, 6)[0])


def test_clips_outside_every_bucket_say_why() -> None:
    """A 3 s clip misses the duration buckets; a 20:1 strip misses the aspect buckets."""
    spec = BucketSpec()
    assert spec.bucket_of(1280, 720, 3.0) == (None, "duration")
    assert spec.bucket_of(2000, 100, 6.0) == (None, "aspect")


def test_buckets_are_options() -> None:
    """Other lists give other folders; bad lists are refused."""
    spec = BucketSpec((480,), (parse_ratio("1:1"), parse_ratio("2:1")), (1.0, 4.0))
    assert spec.bucket_of(960, 480, 2.0) == ("resolution_480/aspect_ratio_2_1/duration_1_4", "")
    with pytest.raises(ValueError, match="W:H"):
        parse_ratio("16x9")
    with pytest.raises(ValueError, match="increasing"):
        BucketSpec(durations_s=(10.0, 5.0))


def _entries(n: int, size: int = 100) -> list[ClipEntry]:
    return [ClipEntry(f"v-{i:03d}_0000000_0000010", "v", 1280, 720, 6.0, size) for i in range(n)]


def test_plan_is_deterministic_whatever_the_input_order() -> None:
    """Shuffled inputs give the same tars and fingerprint (clips sorted by id)."""
    settings = PlanSettings(BucketSpec(), target_tar_bytes=350, max_tars_per_part=2)
    entries = _entries(10)
    a = make_plan(entries, settings)
    b = make_plan(list(reversed(entries)), settings)
    assert a == b


def test_tars_close_before_the_target_and_parts_roll_over() -> None:
    """3 clips of 100 bytes per 350-byte tar; 2 tars per part; every clip in exactly one tar."""
    plan = make_plan(_entries(10), PlanSettings(BucketSpec(), 350, 2))
    assert [len(t.clip_ids) for t in plan.tars] == [3, 3, 3, 1]
    assert [t.path.split("/", 3)[-1] for t in plan.tars] == [
        "part_000000/000000.tar", "part_000000/000001.tar",
        "part_000001/000000.tar", "part_000001/000001.tar",
    ]  # fmt: skip
    ids = [c for t in plan.tars for c in t.clip_ids]
    assert sorted(ids) == sorted(e.clip_id for e in _entries(10)) and len(ids) == len(set(ids))


def test_drop_small_shards_drops_only_the_last_partial_tar() -> None:
    """With --drop-small-shards and 2 clips minimum the 1-clip tail is dropped and counted."""
    settings = PlanSettings(BucketSpec(), 350, 100, min_clips_per_tar=2, drop_small_shards=True)
    plan = make_plan(_entries(10), settings)
    assert [len(t.clip_ids) for t in plan.tars] == [3, 3, 3]
    assert plan.dropped_small == 1
    (dropped,) = plan.left_out
    assert dropped.clip_id == _entries(10)[-1].clip_id and dropped.reason == "dropped_small_shard"
    assert "--min-clips-per-tar 2" in dropped.detail


def _short(n: int) -> list[ClipEntry]:
    """`n` clips of 2-4 s (below the first duration bucket) and one 20:1 strip."""
    clips = [ClipEntry(f"s-{i:03d}_0_10", "s", 1280, 720, 2.0 + i % 3, 100) for i in range(n)]
    return [*clips, ClipEntry("strip_0_10", "strip", 2000, 100, 6.0, 100)]


def test_clips_that_fit_no_bucket_go_to_the_other_bucket() -> None:
    """Short clips and a too-wide strip are planned into `other` tars, counted by reason."""
    plan = make_plan(_short(4), PlanSettings(BucketSpec(), 350, 2))
    assert {t.bucket for t in plan.tars} == {"other"}
    assert sorted(c for t in plan.tars for c in t.clip_ids) == sorted(e.clip_id for e in _short(4))
    assert plan.unbucketed == {"duration": 4, "aspect": 1} and plan.left_out == ()


def test_skip_unbucketed_lists_each_skipped_clip_with_its_reason() -> None:
    """With the skip option no tar is planned for them, and each is in `left_out`."""
    plan = make_plan(_short(4), PlanSettings(BucketSpec(), 350, 2, skip_unbucketed=True))
    assert plan.tars == ()
    assert {r.clip_id for r in plan.left_out} == {e.clip_id for e in _short(4)}
    assert {r.reason for r in plan.left_out} == {"skipped_unbucketed"}
    strip = next(r for r in plan.left_out if r.clip_id == "strip_0_10")
    assert strip == LeftOut("strip_0_10", "skipped_unbucketed", strip.detail)
    assert "aspect" in strip.detail
    skipping = PlanSettings(BucketSpec(), 350, 2, skip_unbucketed=True)
    assert make_plan(_short(4), skipping).fingerprint != (
        make_plan(_short(4), PlanSettings(BucketSpec(), 350, 2)).fingerprint
    )


def test_changed_inputs_change_the_fingerprint() -> None:
    """A re-encoded clip (another size) or other options give another fingerprint."""
    entries = _entries(4)
    base = make_plan(entries, PlanSettings(BucketSpec(), 350, 2)).fingerprint
    changed = [*entries[:-1], ClipEntry(entries[-1].clip_id, "v", 1280, 720, 6.0, 101)]
    assert make_plan(changed, PlanSettings(BucketSpec(), 350, 2)).fingerprint != base
    assert make_plan(entries, PlanSettings(BucketSpec(), 351, 2)).fingerprint != base
