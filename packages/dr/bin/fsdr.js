#!/usr/bin/env node
// fsdr entry point. wal-push and wal-fetch run once per WAL file under PostgreSQL, so they take a
// lean path that loads neither commander nor unused backends.
const [cmd, ...rest] = process.argv.slice(2);
if ((cmd === 'wal-push' || cmd === 'wal-fetch') && !rest.some((a) => a === '-h' || a === '--help')) {
  const { main } = await import('../dist/src/cli/wal-fast.js');
  await main(process.argv.slice(2));
} else {
  const { main } = await import('../dist/src/cli/main.js');
  await main(process.argv);
}
