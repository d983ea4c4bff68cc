#!/usr/bin/env bash
# Installs the Debian packages only the tests need (not fsdr itself, so the README's first command,
# scripts/setup.sh, stays light). CI (.ci/run) runs it after setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/apt-need.sh
# bind9: `named`, the RFC 2136 server the DNS tests start on a free loopback port;
# bind9-dnsutils: nsupdate and dig (the rfc2136 provider's client, and the tests' real queries).
apt_need setup-tests named -- bind9 bind9-dnsutils
# prometheus: promtool (`check rules`, `test rules` on deploy/prometheus) and prometheus (alerts.int
# scrapes the agent with it); prometheus-alertmanager: amtool (`check-config` on deploy/alertmanager)
# and the alertmanager itself (alert-webhook.int compares its webhook payload with the agent's). Both
# packages start a daemon on 0.0.0.0 (9090, 9093/9094) where an init system lets them: stopped; the
# tests start their own on loopback ports.
apt_need setup-tests prometheus prometheus-alertmanager -- prometheus prometheus-alertmanager
# chromium: the headless browser the web console's end-to-end test drives (through playwright-core,
# which never downloads a browser of its own: executablePath is /usr/bin/chromium).
apt_need setup-tests -- chromium
# systemd: systemd-analyze verify on deploy/systemd/fsdr-agent.service (already there on most machines).
apt_need setup-tests -- systemd
# patroni + etcd-server/etcd-client + haproxy: the in-region automatic failover test (fsdr ha):
# one etcd member, two Patroni nodes and HAProxy checking Patroni's REST API, all on free loopback
# ports started by the tests (etcd and haproxy start a daemon where an init system lets them: stopped).
apt_need setup-tests etcd haproxy -- patroni etcd-server etcd-client haproxy
# helm (chart lint/template) and Node.js 22 (the Node 22 test run) from the npm registry: .tools/
bash scripts/get-tools.sh
