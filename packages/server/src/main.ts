#!/usr/bin/env node
// Start command: `node packages/server/dist/src/main.js` (config from env, see config.ts);
// `--no-scheduler` for drill/verify mode; SIGTERM/SIGINT drain gracefully.
import { configFromEnv } from './config.js';
import { ServerError } from './errors.js';
import { startServer, type RunningServer } from './server.js';

let server: RunningServer;
try {
  const config = configFromEnv();
  if (process.argv.includes('--no-scheduler')) config.scheduler = false;
  server = await startServer(config);
} catch (err) {
  const e = err as Error;
  const detail = err instanceof ServerError ? ` [${err.code}]${err.hint ? ` hint: ${err.hint}` : ''}` : '';
  process.stderr.write(`featuresignals: cannot start: ${e.message}${detail}\n`);
  process.exit(1);
}
process.stdout.write(`featuresignals listening on ${server.url}\n`);
let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    server.close().then(() => process.exit(0), () => process.exit(1));
  });
}
