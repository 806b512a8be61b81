#!/usr/bin/env bash
# Debian packages the integration tests use: a Docker engine (started by the tests),
# Prometheus, ffmpeg, debootstrap (test base image). Skips what is already installed.
set -euo pipefail
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v prometheus >/dev/null || need+=(prometheus)
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v chromium >/dev/null || need+=(chromium)  # report pages in a real browser
command -v slurmctld >/dev/null || need+=(slurmctld)  # curate slurm: a real 2-node Slurm
command -v slurmd >/dev/null || need+=(slurmd)
command -v munged >/dev/null || need+=(munge)
command -v sbatch >/dev/null || need+=(slurm-client)
# Azure Blob tests: Azurite is an npm package, installed by tests/core/storage/backends.py
# into ~/.cache/cosmos-curate-tests/azurite (CURATE_AZURITE_DIR) on first use.
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
