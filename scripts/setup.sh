#!/usr/bin/env bash
# Installs what fsdr, its demo and its tests need on a Debian machine, then the npm workspace.
# Used by the README's first command and by CI (.ci/run), so both install the same things.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/apt-need.sh
# postgresql-15: server + client tools (tests and the demo initdb their own clusters);
# redis-server: the FeatureSignals server's cache in tests; pgbackrest: the benchmark peer.
apt_need setup redis-server postgresql -- postgresql-15 postgresql-client-15 redis-server pgbackrest
python3 -c 'import moto.server' 2>/dev/null || echo "setup: warning: python3 moto is missing; the S3 tests need 'python3 -m moto.server'" >&2
npm ci --no-audit --no-fund
