#!/usr/bin/env node
// fsdr entry point. wal-push and wal-fetch run once per WAL file under PostgreSQL, so they take a
// lean path that loads neither commander, yaml, zod nor unused backends.
const args = process.argv.slice(2);
let i = 0;
while (i < args.length && (args[i] === '--config' || args[i] === '-c' || args[i].startsWith('--config='))) i += args[i].includes('=') ? 1 : 2;
const cmd = args[i];
if ((cmd === 'wal-push' || cmd === 'wal-fetch') && !args.some((a) => a === '-h' || a === '--help')) {
  // No optimising compiler for a process that lives a fraction of a second: TurboFan's compile
  // zones cost ~3.5 MiB of its 60 MiB bound and nothing here runs long enough to gain from them
  // (measured; the flag only changes how JavaScript is compiled, never what it does).
  (await import('node:v8')).setFlagsFromString('--no-opt');
  const { main } = await import('../dist/src/cli/wal-fast.js');
  // wal-fast takes the command first, then its options in any order.
  await main([cmd, ...args.slice(0, i), ...args.slice(i + 1)]);
} else {
  const { main } = await import('../dist/src/cli/main.js');
  await main(process.argv);
}
