#!/usr/bin/env bash
# The test command: install everything (venv, package, Chromium for the browser test) and run pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install chromium; the browser test will skip"
fi
if command -v npm >/dev/null 2>&1 && [ ! -d .venv/gltf-validator/node_modules/gltf-validator ]; then
  npm install --silent --prefix .venv/gltf-validator gltf-validator >/dev/null 2>&1 \
    || echo "warning: could not install the Khronos glTF validator; its test will skip"
fi
exec .venv/bin/python -m pytest -q "$@"
