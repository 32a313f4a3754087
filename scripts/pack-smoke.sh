#!/usr/bin/env bash
# Packs the package, installs the tarball into an empty app and uses it from there as a user
# would: the library (CommonJS and ES module, typed entry points), the CLI, a server it starts, the
# README's first program, and a connector's CLI. Run by .ci/run after the build; needs the npm
# registry for the package's dependencies. Usage: scripts/pack-smoke.sh [work dir]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d "${TMPDIR:-/tmp}/tributary-pack-smoke-XXXXXX")}"
app="$work/app"
server_pid=""
# Stops the server it started and waits for it (the pid is the server's own node process).
cleanup() {
  [ -n "$server_pid" ] || return 0
  kill "$server_pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$server_pid" 2>/dev/null || true
}
trap cleanup EXIT
step() { echo "--- pack-smoke: $*"; }
fail() { echo "pack-smoke FAILED: $*" >&2; exit 1; }

step "npm pack"
tarball="$(cd "$repo" && npm pack --silent --pack-destination "$work" | tail -n 1)"
tarball="$work/$tarball"
[ -f "$tarball" ] || fail "npm pack wrote no tarball"
listing="$(tar -tzf "$tarball")"
for f in package/dist/src/index.js package/dist/src/index.d.ts package/dist/src/cli/main.js package/dist/connectors/registry.js \
  package/dist/connectors/postgres/index.js package/bin/tributary.js package/functions/coupon-validator.js package/LICENSE package/README.md; do
  grep -qx "$f" <<<"$listing" || fail "the tarball lacks $f"
done
if grep -qE '^package/(src|test|bench|connectors)/' <<<"$listing"; then fail "the tarball holds sources or tests: $(grep -E '^package/(src|test|bench|connectors)/' <<<"$listing" | head -3)"; fi
echo "$(wc -l <<<"$listing") files in $(basename "$tarball")"

step "install the tarball into an empty app"
mkdir -p "$app"
cd "$app"
printf '{ "name": "smoke-app", "version": "1.0.0", "private": true }\n' > package.json
npm install --no-audit --no-fund --loglevel=error "$tarball"
[ -d node_modules/tributary/dist ] || fail "node_modules/tributary/dist missing"
[ ! -e node_modules/tributary/src ] || fail "the installed package has src/"

step "library: require (CommonJS), the server loaded only when asked for"
node -e "
const Realm = require('tributary');
const serverLoaded = () => Object.keys(require.cache).some((f) => f.includes('/dist/src/server/'));
if (typeof Realm !== 'function' || typeof Realm.Sync.User.login !== 'function') throw new Error('Realm API missing');
if (serverLoaded()) throw new Error('require(\"tributary\") loaded the server');
if (typeof Realm.Server !== 'function' || !serverLoaded()) throw new Error('Realm.Server did not load the server');
const { PostgresConnector } = require('tributary/connectors/postgres');
const { Notifier } = require('tributary/notifier');
const { Adapter } = require('tributary/adapter');
const { Fetcher } = require('tributary/patterns');
const { User } = require('tributary/client');
for (const [n, v] of Object.entries({ PostgresConnector, Notifier, Adapter, Fetcher, User })) if (typeof v !== 'function') throw new Error(n + ' missing');
console.log('require ok, version', require('tributary/package.json').version);
"

step "library: import (ES module)"
cat > esm.mjs <<'EOF'
import Realm, { Server, User, Credentials } from 'tributary';
import { PostgresConnector } from 'tributary/connectors/postgres';
import { Server as ServerFromSubpath } from 'tributary/server';
for (const [n, v] of Object.entries({ Realm, Server, User, Credentials, PostgresConnector })) if (typeof v !== 'function') throw new Error(`${n} missing`);
if (Server !== ServerFromSubpath) throw new Error('two Server classes');
console.log('import ok');
EOF
node esm.mjs

step "typed entry points (tsc, node16 resolution)"
cat > typed.ts <<'EOF'
import Realm, { Server, type ServerConfig } from 'tributary';
import { PostgresConnector, type PostgresConnectorConfig } from 'tributary/connectors/postgres';
import { Notifier } from 'tributary/notifier';
import { Adapter } from 'tributary/adapter';
import { Poller } from 'tributary/patterns';
import { User } from 'tributary/client';
const config: ServerConfig = { dataPath: './data', port: 0 };
const pg: Partial<PostgresConnectorConfig> = {};
export const used = [Realm.Sync.User, Server, config, pg, PostgresConnector, Notifier, Adapter, Poller, User];
EOF
"$repo/node_modules/.bin/tsc" --noEmit --strict --skipLibCheck --module node16 --moduleResolution node16 --target es2022 \
  --typeRoots "$repo/node_modules/@types" --types node typed.ts
echo "types ok"

step "CLI: --version, --help, serve, token"
[ "$(npx tributary --version)" = "$(node -p "require('tributary/package.json').version")" ] || fail "tributary --version"
npx tributary --help | grep -q 'connector' || fail "tributary --help lists no connector command"
# The installed bin itself, not npx: $! must be the server's process (npx would leave its child
# running when killed).
./node_modules/.bin/tributary serve --port 0 --address 127.0.0.1 --data ./data > server.log 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 300); do
  port="$(node -e "for (const l of require('fs').readFileSync('server.log','utf8').split('\n')) { try { const r = JSON.parse(l); if (r.msg === 'listening') { console.log(r.port); break; } } catch {} }")"
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat server.log; fail "the server exited"; }
  sleep 0.1
done
[ -n "$port" ] || { cat server.log; fail "the server did not start"; }
curl -fsS "http://127.0.0.1:$port/health" | grep -q '"ok"' || fail "/health"
[ -n "$(npx tributary token --data ./data)" ] || fail "tributary token printed nothing"
echo "server on port $port"

step "the README's first program, as printed there"
node -e "
const readme = require('fs').readFileSync(require.resolve('tributary/package.json').replace(/package\.json$/, 'README.md'), 'utf8');
const m = /<!-- first-program:begin[^>]*-->\s*\`\`\`js\n([\s\S]*?)\`\`\`\s*<!-- first-program:end -->/.exec(readme);
if (!m) throw new Error('README has no first program');
require('fs').writeFileSync('first.mjs', m[1]);
"
out="$(TRIBUTARY_URL="http://127.0.0.1:$port" timeout 60 node first.mjs)" || fail "first.mjs failed or did not exit"
grep -q '^1 dog(s) in .*tributary-data' <<<"$out" || fail "first.mjs printed: $out"
echo "$out"

step "connector CLI"
npx tributary connector postgres --help | grep -q -- '--config' || fail "connector postgres --help"
printf '{ "tables": {} }\n' > bad-connector.json
set +e
msg="$(npx tributary connector postgres status --config bad-connector.json 2>&1)"
code=$?
set -e
[ "$code" -ne 0 ] || fail "a bad connector config was accepted"
grep -q 'Cannot find module' <<<"$msg" && fail "connector CLI: $msg"
grep -q 'CONFIG_INVALID\|CONNECTOR_' <<<"$msg" || fail "connector CLI gave no coded error: $msg"
echo "connector CLI: $msg"

echo "pack-smoke: passed ($(basename "$tarball"), app in $app)"
