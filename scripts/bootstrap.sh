#!/usr/bin/env bash
# Create ./.venv with everything the project needs, on a fresh Debian 12 machine with Python 3.11.
# System packages: ffmpeg (sample variants), libchromaprint (audio fingerprints), and for tests and
# benchmarks the LibriVox speech clips of pocketsphinx-testdata, the DejaVu fonts for burnt-in text (Latin and
# Cyrillic), espeak-ng (synthetic Russian speech) and Asterisk's recorded Russian prompts, Tesseract with its
# Russian model (OCR of Cyrillic lines) and Chromium for the search page's browser test.
# Caches stay inside the repo (.cache/), nothing is written elsewhere but the apt packages.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v ffmpeg >/dev/null || missing+=(ffmpeg)
ldconfig -p | grep -q 'libchromaprint.so.1 ' || missing+=(libchromaprint-tools)
ldconfig -p | grep -q 'libGL.so.1 ' || missing+=(libgl1)  # opencv-python (OCR, PDQ resize)
ldconfig -p | grep -q 'libgthread-2.0.so.0 ' || missing+=(libglib2.0-0)
[ -d /usr/share/pocketsphinx/test/data/librivox ] || missing+=(pocketsphinx-testdata)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)  # speech in the search corpus and bench.language_eval
[ -d /usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU ] || missing+=(asterisk-core-sounds-ru-gsm)  # recorded Russian
[ -f /usr/share/tesseract-ocr/5/tessdata/rus.traineddata ] || missing+=(tesseract-ocr tesseract-ocr-rus)
[ -x /usr/bin/chromium ] || missing+=(chromium)  # the search page's browser test (headless)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "error: Python 3.11 is required (Triton's python-backend stub in nvidia-pytriton is built for 3.11)" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
fi
export PIP_CACHE_DIR="$PWD/.cache/pip"
.venv/bin/python -m pip install -q --upgrade pip
echo "installing Python packages (first time: a few minutes) ..."
.venv/bin/python -m pip install -q -r requirements.txt
touch .venv/.installed
echo "environment ready: .venv"
