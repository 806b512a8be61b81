"""PyAV helpers: probe a container, decode a frame range, encode frames to H.264 mp4.

Frames are indexed by presentation time (`round((t - t0) * fps)`), so spans computed on
one decode line up with frames of another. A variable-frame-rate video is read on that
constant-rate timeline (`CfrTimeline`): a frame sharing an index with the previous one is
dropped, a missing index repeats the previous frame, as `ffmpeg -vsync cfr` does.
Decoding seeks to the keyframe before the span and stops at its end: memory is one frame,
never the whole file.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from av.sidedata.sidedata import Type as SideDataType
from av.video.reformatter import VideoReformatter

from cosmos_curate.pipelines.video.tasks import VideoMeta

H264_PRESET = "veryfast"
H264_CRF = 23
# Decoders that export motion vectors (FFmpeg's `+export_mvs`); others yield none.
MOTION_VECTOR_CODECS = frozenset({"h264", "mpeg4", "mpeg1video", "mpeg2video", "h263"})


def use_decode_threads(stream: Any, threads: int = 1) -> None:
    """Decode `stream` on `threads` threads, 0 for FFmpeg's choice (set before decoding).

    One (the default for frames taken for analysis) decodes in the calling thread: a stage
    worker reserves one CPU, and FFmpeg's threading (a thread per core and one more) took
    1.15x the CPU time for the same frames (3,000 1080p frames scaled to 48x27 here,
    alternating runs: 13.2-16.1 CPU s with it, 12.3-14.8 with one thread), taken from the
    other stages' workers on the same cores. Where an encoder waits on the frames (a
    transcode) threads cost no more CPU and save wall time: 0 there.
    """
    if threads != 1:
        stream.thread_type = "AUTO"
    stream.codec_context.thread_count = max(0, threads)


class UnreadableVideoError(ValueError):
    """A file PyAV cannot open or decode as video."""


def _open(path: Path | str | io.BytesIO) -> Any:
    try:
        return av.open(path if isinstance(path, io.BytesIO) else str(path))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        msg = f"cannot open {path} as video: {exc}"
        raise UnreadableVideoError(msg) from exc


def probe(path: Path | str) -> VideoMeta:
    """Duration, fps, size and codec of the first video stream; decodes one frame to check."""
    with _open(path) as container:
        if not container.streams.video:
            msg = f"{path} has no video stream"
            raise UnreadableVideoError(msg)
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        if not rate or rate <= 0:
            msg = f"{path}: unknown frame rate"
            raise UnreadableVideoError(msg)
        fps = float(rate)
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = 0.0
        try:
            first = next(container.decode(stream))
        except (StopIteration, av.error.FFmpegError) as exc:
            msg = f"{path}: no decodable video frame ({exc or 'empty stream'})"
            raise UnreadableVideoError(msg) from exc
        num_frames = _timeline_length(container, stream, fps) or round(duration * fps)
        rotation = round(float(getattr(first, "rotation", 0) or 0) / 90) * 90 % 360
        if num_frames <= 0 or duration <= 0:
            msg = f"{path}: empty video (duration {duration:.3f} s)"
            raise UnreadableVideoError(msg)
        audio = container.streams.audio[0] if container.streams.audio else None
        coded = (int(stream.codec_context.width), int(stream.codec_context.height))
        width, height = coded if rotation in (0, 180) else coded[::-1]
        return VideoMeta(
            duration_s=duration,
            fps=fps,
            width=width,
            height=height,
            codec=str(stream.codec_context.name),
            num_frames=num_frames,
            bit_rate=int(stream.bit_rate or container.bit_rate or 0) or None,
            pix_fmt=str(stream.codec_context.pix_fmt) if stream.codec_context.pix_fmt else None,
            audio_codec=str(audio.codec_context.name) if audio is not None else None,
            rotation=rotation,
        )


def _timeline_length(container: Any, stream: Any, fps: float) -> int:
    """Frames on the constant-rate timeline: the last packet's index + 1 (0 if unknown).

    Reads packets only (no decoding): exact for containers that store no frame count
    (mkv, webm) and for variable-frame-rate files alike.
    """
    base = stream.time_base
    if base is None:
        return 0
    t0 = float(stream.start_time * base) if stream.start_time is not None else 0.0
    last: int | None = None
    for packet in container.demux(stream):
        if packet.pts is not None and (last is None or packet.pts > last):
            last = packet.pts
    return 0 if last is None else round((float(last * base) - t0) * fps) + 1


def fps_fraction(fps: float) -> Fraction:
    """A rational frame rate (29.97 -> 30000/1001) for the encoder."""
    return Fraction(fps).limit_denominator(1001)


def scaled_size(width: int, height: int, target_height: int | None) -> tuple[int, int]:
    """Output size keeping the aspect ratio; even dims (yuv420p); never upscales."""
    if target_height is None or target_height >= height:
        w, h = width, height
    else:
        h = target_height
        w = round(width * target_height / height)
    return max(2, w - w % 2), max(2, h - h % 2)


def iter_frames(
    source: Path | str | io.BytesIO,
    start_frame: int = 0,
    end_frame: int | None = None,
    *,
    width: int | None = None,
    height: int | None = None,
    fmt: str = "rgb24",
    analysis: bool = False,
    threads: int = 1,
) -> Iterator[tuple[int, Any]]:
    """Yield `(index, av.VideoFrame)` for frames `[start_frame, end_frame)`, reformatted.

    `width`/`height`/`fmt` are applied by libswscale as each frame is decoded, through one
    scaler for the whole range (`frame.reformat` would set up a new one, filters and
    threads included, for every frame: 3x the cost of the scaling itself at 1080p ->
    64x36). `analysis` skips the decoder's deblocking filter (about 10% faster), for frames
    that are only scaled down to a few dozen pixels for a detector, never shown or encoded.
    `threads`: decoder threads (`use_decode_threads`); one suits a worker that reserves one CPU.
    """
    scaler = VideoReformatter()
    with _open(source) as container:
        stream = container.streams.video[0]
        use_decode_threads(stream, threads)
        if analysis:
            stream.codec_context.options = {"skip_loop_filter": "all"}
        rate = float(stream.average_rate or stream.guessed_rate)
        base = stream.time_base
        t0 = float(stream.start_time * base) if stream.start_time is not None else 0.0
        if start_frame > 0 and base is not None:
            container.seek(int((t0 + start_frame / rate) / base), stream=stream, backward=True)
        timeline = CfrTimeline(t0, rate, start_frame, end_frame)
        for frame in container.decode(stream):
            for index, kept in timeline.push(frame):
                # One thread: a worker is given one CPU, and the output is the same.
                scaled = scaler.reformat(kept, width=width, height=height, format=fmt, threads=1)
                yield index, scaled
            if timeline.done:
                break


class CfrTimeline:
    """Decoded frames -> `(index, frame)` for each index of `[start, end)` exactly once.

    For a constant-rate video every frame passes through unchanged. A frame whose index
    repeats the previous one is dropped; a skipped index gets the previous frame again
    (also at `start`, from the last frame before it), so spans stay frame-exact.
    """

    def __init__(self, t0: float, rate: float, start: int, end: int | None) -> None:
        self.t0, self.rate, self.start, self.end = t0, rate, start, end
        self.next_index = start
        self.previous: Any = None
        self.done = False

    def push(self, frame: Any) -> list[tuple[int, Any]]:
        """The indices this decoded frame (and gap filling before it) covers."""
        t = frame.time if frame.time is not None else 0.0
        index = round((t - self.t0) * self.rate)
        stop = index
        if self.end is not None and index >= self.end:
            self.done, stop = True, self.end
        out: list[tuple[int, Any]] = []
        if self.previous is not None:
            out = [(i, self.previous) for i in range(self.next_index, stop)]
            self.next_index = max(self.next_index, stop)
        elif index > self.next_index:
            self.next_index = stop  # nothing before the first frame: start there
        if not self.done and index >= self.next_index:
            out.append((index, frame))
            self.next_index = index + 1
        self.previous = frame
        return out


def frames_as_arrays(
    source: Path | str | io.BytesIO,
    start_frame: int = 0,
    end_frame: int | None = None,
    *,
    width: int | None = None,
    height: int | None = None,
    fmt: str = "rgb24",
    analysis: bool = False,
    threads: int = 1,
) -> Iterator[tuple[int, npt.NDArray[np.uint8]]]:
    """Like `iter_frames`, yielding numpy arrays."""
    for index, frame in iter_frames(
        source,
        start_frame,
        end_frame,
        width=width,
        height=height,
        fmt=fmt,
        analysis=analysis,
        threads=threads,
    ):
        yield index, frame.to_ndarray()


def iter_motion_vectors(
    source: Path | str | io.BytesIO,
) -> Iterator[tuple[int, int, npt.NDArray[Any] | None]]:
    """Yield `(width, height, vectors)` per decoded frame, in display order.

    `vectors` is the decoder's exported motion vectors (FFmpeg's `AVMotionVector` as a
    structured array: `w`, `h`, `dst_x`, `dst_y`, `motion_x`, `motion_y`, `motion_scale`,
    ...), or None for a frame that has none (an intra frame). Nothing is yielded, and
    nothing decoded, for a codec outside `MOTION_VECTOR_CODECS` (VP9, AV1, HEVC export
    none). No frame is converted or scaled, and the deblocking filter is skipped: it
    changes pixels, never vectors.
    """
    with _open(source) as container:
        stream = container.streams.video[0]
        if stream.codec_context.name not in MOTION_VECTOR_CODECS:
            return
        use_decode_threads(stream)
        stream.codec_context.options = {"flags2": "+export_mvs", "skip_loop_filter": "all"}
        for frame in container.decode(stream):
            # a mapping by side data type (PyAV 18.1.1 iterates its keys, 18.1.0 its values)
            data = frame.side_data.get(SideDataType.MOTION_VECTORS)
            vectors = data.to_ndarray() if data is not None else None
            yield int(frame.width), int(frame.height), vectors


def encode_h264(frames: Iterable[Any], fps: float, width: int, height: int) -> tuple[bytes, int]:
    """Encode yuv420p `av.VideoFrame`s (already at `width`x`height`) into mp4 bytes.

    Returns the bytes and the number of frames written.
    """
    rate = fps_fraction(fps)
    buffer = io.BytesIO()
    count = 0
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": H264_PRESET, "crf": str(H264_CRF)}
        for frame in frames:
            frame.pts = count
            frame.time_base = 1 / rate
            out.mux(stream.encode(frame))
            count += 1
        out.mux(stream.encode(None))
    return buffer.getvalue(), count
