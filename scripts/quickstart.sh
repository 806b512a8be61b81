#!/usr/bin/env bash
# Install cosmos-curate into .venv with what the README's tour needs (the models and video
# extras), check for ffmpeg, and run the hello-world pipeline on an embedded local Ray.
# GPT-2 weights come from the Hugging Face hub; on a machine that cannot reach it, a tiny
# RANDOM GPT-2 is written instead (the pipeline runs, the generated text is gibberish).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v ffmpeg >/dev/null || ! command -v ffprobe >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ffmpeg with apt-get (video-split and the tour's sample video need it)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null; } ||
      echo "apt-get could not install ffmpeg: video-split needs it; install it, then run video-split" >&2
  else
    echo "ffmpeg not found: video-split needs it; install it (Debian/Ubuntu: sudo apt-get install ffmpeg, macOS: brew install ffmpeg)" >&2
  fi
fi
python3 -m venv .venv
# torch through pip (the pinned CPU wheel); the rest through uv, which resolves and downloads
# in parallel (seconds instead of minutes) and keeps that torch.
.venv/bin/pip install -q --upgrade pip uv
.venv/bin/pip install -q torch==2.13.0
.venv/bin/uv pip install -q --python .venv/bin/python -e ".[models,video]"
if ! .venv/bin/curate model download --models gpt2; then
  echo "hub unreachable: using a tiny random GPT-2 so the pipeline can run offline" >&2
  .venv/bin/python -m cosmos_curate.models.tiny_random_gpt2
fi
.venv/bin/curate pipeline run hello-world "$@"
