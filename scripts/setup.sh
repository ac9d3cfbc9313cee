#!/usr/bin/env bash
# Everything a fresh machine needs, idempotent: the venv, the project and its dependencies.
# Usage: scripts/setup.sh [--test]   (--test adds the test tools and Debian's chromium)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if [ "${1:-}" = "--test" ]; then
    .venv/bin/python -m pip install --quiet -e ".[test]"
    # Browser tests drive Debian's chromium (Playwright's own browser download is not possible);
    # a CJK font lets the Chinese pages' screenshots show their text.
    if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|noto.*cjk"; then
        SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-wqy-microhei \
            >/dev/null
    fi
    # Tests start their own throwaway servers from Debian's packages: PostgreSQL
    # (tests/integration/test_postgres.py), Redis (tests/integration/test_shared_state.py) and, for the cluster test,
    # HAProxy in front (scripts/cluster.sh).
    missing=""
    ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing="$missing postgresql"
    command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
    command -v haproxy >/dev/null 2>&1 || missing="$missing haproxy"
    if [ -n "$missing" ]; then
        SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
        $SUDO apt-get update -qq
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
    fi
    # The real Claude Code CLI, from the npm registry, for the end-to-end proxy test.
    scripts/install_claude_code.sh
    # The real OpenAI Codex CLI, likewise, for tests/integration/test_codex.py.
    scripts/install_codex.sh
else
    .venv/bin/python -m pip install --quiet -e .
fi
