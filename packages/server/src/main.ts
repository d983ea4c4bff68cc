#!/usr/bin/env node
// Start command: `node packages/server/dist/src/main.js` (config from env, see config.ts);
// `--no-scheduler` for drill/verify mode; SIGTERM/SIGINT drain gracefully.
import { configFromEnv } from './config.js';
import { startServer } from './server.js';

const config = configFromEnv();
if (process.argv.includes('--no-scheduler')) config.scheduler = false;
const server = await startServer(config);
process.stdout.write(`featuresignals listening on ${server.url}\n`);
let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    server.close().then(() => process.exit(0), () => process.exit(1));
  });
}
