#!/usr/bin/env bash
# Creates .venv and installs everything robo needs. Idempotent: `make setup` only calls this
# when pyproject.toml or requirements/ changed since the last successful run.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
VENV=${VENV:-.venv}

# ffmpeg: torchcodec needs its shared libraries to decode dataset videos.
if ! command -v ffmpeg >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "[setup] installing ffmpeg (Debian package)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null
  else
    echo "[setup] ffmpeg is missing: install it (e.g. 'sudo apt-get install ffmpeg') and re-run" >&2
    exit 1
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi
PIP="$VENV/bin/pip"
export PIP_DISABLE_PIP_VERSION_CHECK=1

# torch first, from the exact release on local disk (anything else downloads gigabytes).
if ! "$VENV/bin/python" -c "import torch, torchvision; assert torch.__version__.startswith('2.14.1')" 2>/dev/null; then
  echo "[setup] installing torch 2.14.1 + torchvision 0.29.1"
  "$PIP" install -q torch==2.14.1 torchvision==0.29.1
fi
echo "[setup] installing robo and its dependencies"
"$PIP" install -q -e ".[dev]"
echo "[setup] installing packages whose metadata pins conflict (--no-deps, see requirements/nodeps.txt)"
"$PIP" install -q --no-deps -r requirements/nodeps.txt
"$VENV/bin/python" -c "import robo, sims, hardware, mujoco, metaworld, robosuite, lerobot" 
echo "[setup] ok"
