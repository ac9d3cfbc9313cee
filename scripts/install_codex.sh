#!/usr/bin/env bash
# Installs a pinned OpenAI Codex CLI (npm: @openai/codex) into .cache/codex, for
# tests/integration/test_codex.py. Idempotent: does nothing when that version is already there.
# The native binary comes from the platform package (@openai/codex-linux-x64, an alias of
# npm:@openai/codex@<version>-linux-x64, ...) that npm installs as an optional dependency;
# bin/codex.js (node_modules/.bin/codex) finds it there and execs it. The package needs
# Node >= 16; Node 20 is fine. No install scripts are involved.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=${CODEX_VERSION:-0.171.0}
DIR=.cache/codex
BIN=$DIR/node_modules/.bin/codex

# `codex --version` prints "codex-cli 0.171.0".
installed_version() {
    "$BIN" --version 2>/dev/null | awk '{print $NF}'
}

if [ -x "$BIN" ] && [ "$(installed_version || true)" = "$VERSION" ]; then
    exit 0
fi

command -v npm >/dev/null 2>&1 || { echo "install_codex: npm not found" >&2; exit 1; }
mkdir -p "$DIR"
# A package.json of its own keeps npm from looking for one further up the tree.
[ -f "$DIR/package.json" ] || echo '{"name": "codex-cache", "private": true}' >"$DIR/package.json"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# --include=optional: the native binary is an optional dependency; an npm configured to omit
# optional dependencies would install the launcher alone.
if ! npm install --prefix "$DIR" --no-audit --no-fund --no-save --loglevel=error \
    --include=optional "@openai/codex@$VERSION" >"$log" 2>&1; then
    cat "$log" >&2
    echo "install_codex: npm install of @openai/codex@$VERSION failed" >&2
    exit 1
fi

installed=$(installed_version || true)
if [ "$installed" != "$VERSION" ]; then
    cat "$log" >&2
    "$BIN" --version >&2 || true
    echo "install_codex: $BIN reports '${installed:-nothing}', expected $VERSION" >&2
    echo "install_codex: is the platform package (@openai/codex-$(uname -s | tr A-Z a-z)-*)" \
        "in $DIR/node_modules/@openai?" >&2
    exit 1
fi
