#!/usr/bin/env bash
# The main job on a fresh machine: set up, then generate a motion with the shipped default model
# (mp4 + BVH + npy under out/). Pass a different prompt as the first argument.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PROMPT=${1:-"a person walks forward happily"}
.venv/bin/motiongpt generate "$PROMPT" --seconds 4 --out out/
