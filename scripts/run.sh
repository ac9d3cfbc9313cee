#!/usr/bin/env bash
# Runs the app on one port (default 3000): set-up, migrations, `reflex run --env prod`.
# SQLite under ./data by default; development secrets are generated there with a warning.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-3000}
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
aiusage db upgrade
exec reflex run --env prod --frontend-port "$PORT" --backend-port "$PORT"
