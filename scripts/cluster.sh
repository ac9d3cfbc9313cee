#!/usr/bin/env bash
# The scale-out topology on this machine: PostgreSQL, Redis, two app instances, two standalone
# proxy workers and HAProxy in front, all on loopback (see scripts/cluster.py).
# Usage: scripts/cluster.sh up|down|status   (PORT=… for the balancer, default 8080;
#        AIUSAGE_CLUSTER_DIR=… for its throwaway directory, default /tmp/aiusage-cluster)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "up" ]; then
    scripts/setup.sh --test >/dev/null   # the project, and Debian's postgresql, redis-server, haproxy
    .venv/bin/python -m pip install --quiet -e ".[postgres]" 2>/dev/null || { echo "pip install of the postgres extra failed" >&2; exit 1; }
fi
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" exec .venv/bin/python scripts/cluster.py "$@"
