"""Encode one clip (a frame span of a source) to mp4 with PyAV: video, and audio when present.

The video frames are those whose presentation index (`round((t - t0) * fps)`, as everywhere
in the pipeline) falls in the span; the audio is the source's samples between the span's
first and last frame times, cut to the sample and padded with silence where the source has
none, so that sound and picture stay in sync. Video is re-encoded with the chosen encoder
at a bit rate (default 4 Mbps, or the input's); audio is re-encoded to AAC.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
import av
import numpy as np
from av.video.reformatter import VideoReformatter

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.pipelines.video.decode import (
    CfrTimeline,
    UnreadableVideoError,
    fps_fraction,
    scaled_size,
    use_decode_threads,
)
from cosmos_curate.pipelines.video.tasks import VideoMeta

# Encoder -> options for a fast, good-quality encode (the bit rate is set separately).
ENCODER_OPTIONS: dict[str, dict[str, str]] = {
    "libx264": {"preset": "veryfast"},
    "libopenh264": {},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "row-mt": "1"},
    "libsvtav1": {"preset": "10"},
    "libaom-av1": {"cpu-used": "8", "usage": "realtime"},
    "h264_nvenc": {"preset": "p4", "tune": "hq", "rc": "vbr", "cq": "21", "spatial-aq": "1"},
}
AUDIO_ENCODER = "aac"
DEFAULT_BITRATE_MBPS = 4.0


class EncoderUnavailableError(CurateError, ValueError):
    """The chosen encoder is not in this ffmpeg build, or cannot run on this machine."""


@attrs.frozen
class EncodeSettings:
    """How clips are encoded."""

    encoder: str = "libx264"
    bitrate_mbps: float = DEFAULT_BITRATE_MBPS
    use_input_bit_rate: bool = False
    threads: int = 1
    """Encoder threads (0: FFmpeg's choice)."""
    target_height: int | None = None
    keep_audio: bool = True

    def bit_rate(self, meta: VideoMeta) -> int:
        """Bits per second for the video stream."""
        if self.use_input_bit_rate and meta.bit_rate:
            return int(meta.bit_rate)
        return int(self.bitrate_mbps * 1_000_000)


@attrs.frozen
class EncodedClip:
    """An encoded clip and what a reader of it would find."""

    data: bytes
    num_frames: int
    width: int
    height: int
    fps: float
    video_codec: str
    audio_codec: str | None


def available_encoders() -> list[str]:
    """Known encoders that this PyAV/ffmpeg build contains."""
    return [name for name in ENCODER_OPTIONS if name in av.codecs_available]


def check_encoder(name: str, *, open_it: bool = False) -> None:
    """Raise `EncoderUnavailableError` unless `name` is a known encoder in this ffmpeg build.

    With `open_it`, also open it on a tiny frame size, which fails for a hardware encoder
    without its device (`h264_nvenc` on a machine with no NVENC-capable GPU).
    """
    if name not in ENCODER_OPTIONS:
        known = ", ".join(ENCODER_OPTIONS)
        msg = f"unknown encoder {name!r}; known encoders: {known}"
        raise EncoderUnavailableError(msg)
    if name not in av.codecs_available:
        have = ", ".join(available_encoders()) or "none"
        msg = f"encoder {name} is not in this ffmpeg build (PyAV); available here: {have}"
        raise EncoderUnavailableError(msg)
    if not open_it:
        return
    try:
        ctx: Any = av.CodecContext.create(name, "w")
        ctx.width, ctx.height, ctx.pix_fmt = 256, 144, "yuv420p"
        ctx.time_base = Fraction(1, 25)
        ctx.open()
    except (av.error.FFmpegError, ValueError) as exc:
        hint = " (needs an NVIDIA GPU with NVENC and its driver)" if "nvenc" in name else ""
        msg = f"encoder {name} cannot be opened on this machine{hint}: {exc}"
        raise EncoderUnavailableError(msg) from exc


def _video_stream(
    out: Any, settings: EncodeSettings, meta: VideoMeta, size: tuple[int, int]
) -> Any:
    stream = out.add_stream(settings.encoder, rate=fps_fraction(meta.fps))
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    stream.bit_rate = settings.bit_rate(meta)
    stream.codec_context.thread_count = max(0, settings.threads)
    stream.options = dict(ENCODER_OPTIONS[settings.encoder])
    return stream


class _AudioCutter:
    """Re-encodes source audio between `start_t` and `end_t` (seconds, source clock)."""

    def __init__(self, out: Any, source: Any, start_t: float, end_t: float) -> None:
        self.rate = int(source.codec_context.sample_rate or 48000)
        self.layout = source.codec_context.layout.name or "stereo"
        self.stream = out.add_stream(AUDIO_ENCODER, rate=self.rate, layout=self.layout)
        self.resampler = av.AudioResampler(format="fltp", layout=self.layout, rate=self.rate)
        self.start_t, self.end_t = start_t, end_t
        self.total = max(0, round((end_t - start_t) * self.rate))
        self.written = 0

    @property
    def done(self) -> bool:
        """Whether every sample of the span has been written."""
        return self.written >= self.total

    def _emit(self, out: Any, samples: np.ndarray[Any, Any]) -> None:
        samples = samples[:, : self.total - self.written]
        if samples.shape[1] == 0:
            return
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), "fltp", self.layout)
        frame.sample_rate, frame.pts = self.rate, self.written
        frame.time_base = Fraction(1, self.rate)
        out.mux(self.stream.encode(frame))
        self.written += samples.shape[1]

    def add(self, out: Any, frame: Any) -> None:
        """Write the part of a decoded source frame that lies in the span."""
        if self.done or frame.time is None:
            return
        for piece in self.resampler.resample(frame):
            array = piece.to_ndarray()
            when = float(piece.time if piece.time is not None else frame.time)
            offset = round((when - self.start_t) * self.rate)
            if offset > self.written:  # a hole in the source: fill it with silence
                self._emit(out, np.zeros((array.shape[0], offset - self.written), np.float32))
            skip = max(0, self.written - offset)
            self._emit(out, array[:, skip:])

    def finish(self, out: Any, channels: int) -> None:
        """Pad the end with silence where the source audio stops early; flush the encoder."""
        if self.written < self.total:
            self._emit(out, np.zeros((channels, self.total - self.written), np.float32))
        out.mux(self.stream.encode(None))


@attrs.define
class _Scalers:
    """One libswscale context per conversion step of `upright`, reused frame after frame."""

    scale: VideoReformatter = attrs.field(factory=VideoReformatter)
    back: VideoReformatter = attrs.field(factory=VideoReformatter)


def upright(frame: Any, rotation: int, size: tuple[int, int], scalers: _Scalers) -> Any:
    """A yuv420p frame of `size` (display orientation), turned upright.

    The turn is the one its display matrix asks for (as ffmpeg's autorotate does), so every
    reader of the clip sees it upright whether or not it honours display matrices. The
    scalers are kept for the whole clip (one set-up, not one per frame).
    """
    if rotation == 0:
        return scalers.scale.reformat(
            frame, width=size[0], height=size[1], format="yuv420p", threads=1
        )
    coded = size if rotation == 180 else (size[1], size[0])
    rgb = scalers.scale.reformat(
        frame, width=coded[0], height=coded[1], format="rgb24", threads=1
    ).to_ndarray()
    turned = np.ascontiguousarray(np.rot90(rgb, k=rotation // 90), dtype=np.uint8)
    back = av.VideoFrame.from_ndarray(turned, format="rgb24")
    return scalers.back.reformat(back, format="yuv420p", threads=1)


def _frames(container: Any, video: Any, audio: Any) -> Iterator[Any]:
    streams = [video] + ([audio] if audio is not None else [])
    for packet in container.demux(*streams):
        try:
            yield from packet.decode()
        except av.error.InvalidDataError:
            continue  # a damaged packet: skip it, as players do


def encode_span(
    path: Path | str, start_frame: int, end_frame: int, meta: VideoMeta, settings: EncodeSettings
) -> EncodedClip:
    """Encode frames `[start_frame, end_frame)` of `path` (and its audio) into mp4 bytes."""
    size = scaled_size(meta.width, meta.height, settings.target_height)
    buffer = io.BytesIO()
    count = 0
    with av.open(str(path)) as src, av.open(buffer, "w", format="mp4") as out:
        video = src.streams.video[0]
        use_decode_threads(video, 0)  # FFmpeg's choice: the encoder waits on the frames
        base, rate = video.time_base, meta.fps
        t0 = float(video.start_time * base) if video.start_time is not None and base else 0.0
        start_t, end_t = t0 + start_frame / rate, t0 + end_frame / rate
        audio = src.streams.audio[0] if settings.keep_audio and src.streams.audio else None
        vout = _video_stream(out, settings, meta, size)
        cutter = _AudioCutter(out, audio, start_t, end_t) if audio is not None else None
        if start_frame > 0 and base is not None:
            src.seek(int(start_t / base), stream=video, backward=True)
        timeline = CfrTimeline(t0, rate, start_frame, end_frame)
        scalers = _Scalers()
        for frame in _frames(src, video, audio):
            if isinstance(frame, av.AudioFrame):
                if cutter is not None:
                    cutter.add(out, frame)
            elif not timeline.done:
                for _, kept in timeline.push(frame):
                    image = upright(kept, meta.rotation, size, scalers)
                    image.pts, image.time_base = count, 1 / fps_fraction(rate)
                    out.mux(vout.encode(image))
                    count += 1
            if timeline.done and (cutter is None or cutter.done):
                break
        out.mux(vout.encode(None))
        if cutter is not None:
            cutter.finish(out, audio.codec_context.channels if audio is not None else 2)
    if count == 0:
        msg = f"{path}: no frame decoded in [{start_frame}, {end_frame})"
        raise UnreadableVideoError(msg)
    data = buffer.getvalue()
    video_codec, audio_codec = _codecs(data)
    return EncodedClip(data, count, size[0], size[1], meta.fps, video_codec, audio_codec)


def _codecs(data: bytes) -> tuple[str, str | None]:
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0].codec_context.name
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
    return str(video), (str(audio) if audio else None)
