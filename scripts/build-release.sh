#!/usr/bin/env bash
# Builds the production artifact the Dockerfile builds, without Docker: the same inputs (package
# files, tsconfig, src/ without specs or test helpers), a clean install, the build, dev-only output
# removed, dev dependencies pruned. The result (package.json, node_modules/, dist/) goes to
# <out-dir> (default: release/) and starts with `NODE_ENV=production node dist/main.js`.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(realpath -m "${1:-release}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cp package.json package-lock.json tsconfig.json tsconfig.build.json "$work/"
tar --exclude='*.spec.ts' --exclude='*/testing/*' -cf - src | tar -xf - -C "$work"

(
  cd "$work"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  npm run -s build
  rm -rf dist/dev
  find dist -name '*.map' -delete
  npm prune --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
)

rm -rf "$out"
mkdir -p "$out"
mv "$work/package.json" "$work/node_modules" "$work/dist" "$out/"
echo "release artifact in $out ($(du -sh "$out" | cut -f1))"
