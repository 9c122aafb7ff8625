#!/usr/bin/env bash
# Type-checks the browser client (src/trio_server/static/*.js, `// @ts-check` + JSDoc) with the
# TypeScript compiler pinned in package.json; nothing is emitted, the files are served as they are.
#   bash scripts/check-js.sh
# Installs the pinned compiler into ./node_modules first when it is missing or out of date
# (npm ci from package-lock.json; npm install only when there is no lock). Exits non-zero on
# any type error.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null 2>&1; then
  echo "[check-js] npm is missing: install Node.js 18+ (apt-get install -y nodejs npm)" >&2
  exit 1
fi

# npm ci wipes and reinstalls node_modules, so it runs only when the tree installed last is not
# the one the lock describes now (a stamp in node_modules records the lock it came from).
STAMP=node_modules/.check-js-lock.sha256
# One install at a time: a second run waits instead of type-checking a half-installed tree.
if command -v flock >/dev/null 2>&1; then
  exec 9<package.json
  flock 9
fi
if [ -f package-lock.json ]; then
  want="$(sha256sum package-lock.json package.json | sha256sum | cut -d' ' -f1)"
  if [ ! -x node_modules/.bin/tsc ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
    echo "[check-js] npm ci (TypeScript as pinned in package-lock.json)"
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
    echo "$want" > "$STAMP"
  fi
elif [ ! -x node_modules/.bin/tsc ]; then
  echo "[check-js] npm install (no package-lock.json)"
  npm install --no-audit --no-fund --loglevel=error >/dev/null
fi

version="$(npx --no-install tsc --version)"
if npx --no-install tsc --noEmit -p tsconfig.json; then
  echo "[check-js] ok: src/trio_server/static type-checks ($version)"
else
  echo "[check-js] type errors in src/trio_server/static ($version)" >&2
  exit 1
fi
