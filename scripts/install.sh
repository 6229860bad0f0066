#!/usr/bin/env bash
# Installs everything VideoQA needs on a Debian machine with Python 3.11: system packages
# (ffmpeg, espeak-ng, and Debian's chromium for the browser tests) and a virtual environment in .venv with the project and its test tools.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(ffmpeg espeak-ng fonts-dejavu-core chromium)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "install.sh: apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
  echo "install.sh: creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi

# torch first, pinned: this machine keeps 2.14.1/0.29.1 in its local wheel index; a resolver
# left alone could fetch another build.
stamp=.venv/.videoqa-installed
want="$(cat pyproject.toml scripts/install.sh | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q "torch==2.14.1" "torchvision==0.29.1"
  .venv/bin/python -m pip install -q -e ".[test,bench]" "torch==2.14.1" "torchvision==0.29.1"
  # the MTCNN face detector's weights (model/vision/faces.py); its metadata pins torch<2.3 and
  # numpy<2, which it does not need for the weights we read, so without its dependencies
  .venv/bin/python -m pip install -q --no-deps "facenet-pytorch==2.6.0"
  echo "$want" > "$stamp"
fi
echo "install.sh: ready (.venv)"
