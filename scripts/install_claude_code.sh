#!/usr/bin/env bash
# Installs a pinned Claude Code CLI (npm: @anthropic-ai/claude-code) into .cache/claude-code,
# for tests/integration/test_claude_code.py. Idempotent: does nothing when that version is already there.
# The native binary comes from the platform package (@anthropic-ai/claude-code-linux-x64, ...)
# that npm installs as an optional dependency; the package's postinstall links it into
# node_modules/.bin/claude. The package asks for Node >= 22 but only the postinstall runs
# under Node, and it works on Node 20 (npm just warns, which --loglevel=error hides).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=${CLAUDE_CODE_VERSION:-2.1.330}
DIR=.cache/claude-code
BIN=$DIR/node_modules/.bin/claude

if [ -x "$BIN" ] && [ "$("$BIN" --version 2>/dev/null | cut -d' ' -f1)" = "$VERSION" ]; then
    exit 0
fi

command -v npm >/dev/null 2>&1 || { echo "install_claude_code: npm not found" >&2; exit 1; }
mkdir -p "$DIR"
# A package.json of its own keeps npm from looking for one further up the tree.
[ -f "$DIR/package.json" ] || echo '{"name": "claude-code-cache", "private": true}' >"$DIR/package.json"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! npm install --prefix "$DIR" --no-audit --no-fund --no-save --loglevel=error \
    --engine-strict=false --ignore-scripts=false \
    "@anthropic-ai/claude-code@$VERSION" >"$log" 2>&1; then
    cat "$log" >&2
    echo "install_claude_code: npm install of @anthropic-ai/claude-code@$VERSION failed" >&2
    exit 1
fi
# Should npm have skipped the postinstall (newer npm may hold back install scripts until they
# are approved), run it: it puts the native binary in place of the bin/claude.exe stub.
if ! "$BIN" --version >/dev/null 2>&1; then
    (cd "$DIR/node_modules/@anthropic-ai/claude-code" && node install.cjs) >>"$log" 2>&1 || {
        cat "$log" >&2
        exit 1
    }
fi

installed=$("$BIN" --version 2>/dev/null | cut -d' ' -f1 || true)
if [ "$installed" != "$VERSION" ]; then
    echo "install_claude_code: $BIN reports '${installed:-nothing}', expected $VERSION" >&2
    exit 1
fi
