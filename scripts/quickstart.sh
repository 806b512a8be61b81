#!/usr/bin/env bash
# Install cosmos-curate into .venv and run the hello-world pipeline on an embedded local Ray.
# GPT-2 weights come from the Hugging Face hub; on a machine that cannot reach it, a tiny
# RANDOM GPT-2 is written instead (the pipeline runs, the generated text is gibberish).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q torch==2.13.0
.venv/bin/pip install -q -e ".[models]"
if ! .venv/bin/curate model download --models gpt2; then
  echo "hub unreachable: using a tiny random GPT-2 so the pipeline can run offline" >&2
  .venv/bin/python -m cosmos_curate.models.tiny_random_gpt2
fi
.venv/bin/curate pipeline run hello-world "$@"
