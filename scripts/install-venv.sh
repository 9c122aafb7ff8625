#!/usr/bin/env bash
# Creates the virtual environment VENV (default .venv) when missing and installs the project
# into it (editable, with the test extra), unless that was already done for this checkout,
# this pyproject.toml and this interpreter:
#   bash scripts/install-venv.sh
# scripts/test.sh and .ci/run both call it, so CI installs once, not once per script (the
# second `pip install` found nothing to do and still took ~11 s on 2 cores). The stamp
# ($VENV/.install-stamp) is the hash of what was installed from; delete it to force a reinstall.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "[install-venv] creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi
STAMP="$VENV/.install-stamp"
want="$( { "$VENV/bin/python" -VV; pwd -P; cat pyproject.toml; } | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
rm -f "$STAMP"
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install -q -e ".[test]"
echo "$want" > "$STAMP"
