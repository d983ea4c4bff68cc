#!/usr/bin/env node
// Benchmark runner: `npm run bench -- <name> [options]` (the npm script builds first).
// Each benchmark is a compiled module exporting `run(ctx)`; it may return
//   { tables?: [{ title, columns, rows }], notes?: string[], ...anything }
// and this runner prints the tables and writes the whole result as JSON to
// bench/results/<name>-<timestamp>.json (git-ignored). To add a benchmark, add a line to BENCHES.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = join(root, 'bench', 'results');

/** name -> { module (relative to the repo root), what it measures } */
const BENCHES = {
  wal: { module: 'packages/dr/dist/bench/wal.js', what: 'WAL archiving: fsdr wal-push (sync, async) vs pgbackrest archive-push; backlog under 60 s of pgbench' },
  backup: { module: 'packages/dr/dist/bench/backup.js', what: 'full/incremental backup throughput' },
  restore: { module: 'packages/dr/dist/bench/restore.js', what: 'restore and PITR time' },
  dump: { module: 'packages/dr/dist/bench/dump.js', what: 'logical dump throughput' },
  recover: { module: 'packages/dr/dist/bench/recover.js', what: 'fsdr recover end to end (pgbench scale 70 + 10,000 flags): RTO by phase (files, WAL replay, server warm, golden, checks) and the measured RPO of the drill writer, beside the objectives' },
  failover: { module: 'packages/dr/dist/bench/failover.js', what: 'regional failover (pgbench scale 70 + 10,000 flags, two motos, BIND): unplanned RTO by step and RPO (fsdr drill failover), the planned switchover back, warm-standby lag under pgbench' },
  replay: { module: 'packages/dr/dist/bench/replay.js', what: 'WAL replay of N archived segments: cp from a local directory vs fsdr wal-fetch (sync) vs archive.async (fsdr-fetch.sh + parallel prefetch)' },
  fence: { module: 'packages/dr/dist/bench/fence.js', what: 'the split-brain guard: cost of the fence check each writer (wal-push per segment) makes, peer reachable and cut off' },
  ha: { module: 'packages/dr/dist/bench/ha.js', what: 'in-region automatic failover on Patroni + etcd + HAProxy: RTO phases and RPO over N kill -9 failovers (--rounds 10, --async, --ttl/--loop-wait/--retry-timeout)' },
  eval: { module: 'packages/server/dist/bench/eval.js', what: 'flag evaluation latency and throughput' },
};

function usage(code) {
  const lines = Object.entries(BENCHES).map(([n, b]) => `  ${n.padEnd(8)} ${b.what}${existsSync(join(root, b.module)) ? '' : '  (not built / not written yet)'}`);
  (code ? console.error : console.log)(`usage: npm run bench -- <name> [options]\n\nbenchmarks:\n${lines.join('\n')}`);
  process.exit(code);
}

/** Plain-text table; numbers right-aligned. */
export function formatTable({ title, columns, rows }) {
  const cells = rows.map((r) => columns.map((c) => {
    const v = Array.isArray(r) ? r[columns.indexOf(c)] : r[c];
    return v === undefined || v === null ? '' : String(v);
  }));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const numeric = columns.map((_, i) => cells.length > 0 && cells.every((r) => r[i] === '' || /^[-+]?[\d.,]+(x|%)?$/.test(r[i])));
  const line = (vals) => vals.map((v, i) => (numeric[i] ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [];
  if (title) out.push(title);
  out.push(line(columns), widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells) out.push(line(r));
  return out.join('\n');
}

async function main() {
  const [name, ...args] = process.argv.slice(2);
  if (!name || name === '-h' || name === '--help') usage(name ? 0 : 1);
  const bench = BENCHES[name];
  if (!bench) {
    console.error(`unknown benchmark "${name}"`);
    usage(1);
  }
  const modPath = join(root, bench.module);
  if (!existsSync(modPath)) {
    console.error(`benchmark "${name}" is not available: ${relative(root, modPath)} does not exist (not written yet, or the build did not run)`);
    process.exit(2);
  }
  const mod = await import(pathToFileURL(modPath).href);
  if (typeof mod.run !== 'function') {
    console.error(`${relative(root, modPath)} does not export run()`);
    process.exit(2);
  }
  const startedAt = new Date();
  const result = await mod.run({ args, root, resultsDir, log: (msg) => console.error(`[bench ${name}] ${msg}`) });
  if (result && typeof result === 'object') {
    for (const t of result.tables ?? []) console.log('\n' + formatTable(t));
    for (const n of result.notes ?? []) console.log(n.startsWith('\n') ? n : `\n${n}`);
    mkdirSync(resultsDir, { recursive: true });
    const file = join(resultsDir, `${name}-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ benchmark: name, startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), args, ...result }, null, 2) + '\n');
    console.log(`\nresults: ${relative(process.cwd(), file)}`);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench ${process.argv[2]} failed: ${err?.stack ?? err}`);
    process.exit(1);
  },
);
