#!/usr/bin/env bash
# Installs what fsdr, its demo and its tests need on a Debian machine, then the npm workspace.
# Used by the README's first command and by CI (.ci/run), so both install the same things.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
# postgresql-15: server + client tools (tests and the demo initdb their own clusters);
# redis-server: the FeatureSignals server's cache in tests; pgbackrest: the benchmark peer.
need=()
for pkg in postgresql-15 postgresql-client-15 redis-server pgbackrest; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The packages start their own services; fsdr's tests and demo start their own on free ports.
  (systemctl stop redis-server postgresql || service redis-server stop || true) >/dev/null 2>&1
fi
python3 -c 'import moto.server' 2>/dev/null || echo "setup: warning: python3 moto is missing; the S3 tests need 'python3 -m moto.server'" >&2
npm ci --no-audit --no-fund
