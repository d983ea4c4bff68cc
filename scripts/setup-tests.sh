#!/usr/bin/env bash
# Installs the Debian packages only the tests need (not fsdr itself, so the README's first command,
# scripts/setup.sh, stays light). CI (.ci/run) runs it after setup.sh.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
# bind9: `named`, the RFC 2136 server the DNS tests start on a free loopback port;
# bind9-dnsutils: nsupdate and dig (the rfc2136 provider's client, and the tests' real queries).
need=()
for pkg in bind9 bind9-dnsutils; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-tests: missing Debian packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The package may start its own named; the tests start theirs on free ports.
  (systemctl stop named || service named stop || true) >/dev/null 2>&1
fi
