"""PyAV helpers: probe a container, decode a frame range, encode frames to H.264 mp4.

Frames are indexed by presentation time (`round((t - t0) * fps)`), so spans computed on
one decode line up with frames of another. Decoding seeks to the keyframe before the span
and stops at its end: memory is one frame, never the whole file.
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

from cosmos_curate.pipelines.video.tasks import VideoMeta

H264_PRESET = "veryfast"
H264_CRF = 23


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
            next(container.decode(stream))
        except (StopIteration, av.error.FFmpegError) as exc:
            msg = f"{path}: no decodable video frame ({exc or 'empty stream'})"
            raise UnreadableVideoError(msg) from exc
        num_frames = int(stream.frames) or round(duration * fps)
        if num_frames <= 0 or duration <= 0:
            msg = f"{path}: empty video (duration {duration:.3f} s)"
            raise UnreadableVideoError(msg)
        audio = container.streams.audio[0] if container.streams.audio else None
        return VideoMeta(
            duration_s=duration,
            fps=fps,
            width=int(stream.codec_context.width),
            height=int(stream.codec_context.height),
            codec=str(stream.codec_context.name),
            num_frames=num_frames,
            bit_rate=int(stream.bit_rate or container.bit_rate or 0) or None,
            pix_fmt=str(stream.codec_context.pix_fmt) if stream.codec_context.pix_fmt else None,
            audio_codec=str(audio.codec_context.name) if audio is not None else None,
        )


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
) -> Iterator[tuple[int, Any]]:
    """Yield `(index, av.VideoFrame)` for frames `[start_frame, end_frame)`, reformatted.

    `width`/`height`/`fmt` are applied by libswscale as each frame is decoded.
    """
    with _open(source) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or stream.guessed_rate)
        base = stream.time_base
        t0 = float(stream.start_time * base) if stream.start_time is not None else 0.0
        if start_frame > 0 and base is not None:
            container.seek(int((t0 + start_frame / rate) / base), stream=stream, backward=True)
        for frame in container.decode(stream):
            t = frame.time if frame.time is not None else 0.0
            index = round((t - t0) * rate)
            if index < start_frame:
                continue
            if end_frame is not None and index >= end_frame:
                break
            yield index, frame.reformat(width=width, height=height, format=fmt)


def frames_as_arrays(
    source: Path | str | io.BytesIO,
    start_frame: int = 0,
    end_frame: int | None = None,
    *,
    width: int | None = None,
    height: int | None = None,
    fmt: str = "rgb24",
) -> Iterator[tuple[int, npt.NDArray[np.uint8]]]:
    """Like `iter_frames`, yielding numpy arrays."""
    for index, frame in iter_frames(
        source, start_frame, end_frame, width=width, height=height, fmt=fmt
    ):
        yield index, frame.to_ndarray()


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
