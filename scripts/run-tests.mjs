#!/usr/bin/env node
// Runs the compiled tests of every package with node's test runner.
// `--unit` runs only fast unit tests (files not named *.int.test.js).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const unitOnly = process.argv.includes('--unit');
const filters = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const files = [];
function walk(dir) {
  let entries;
  try { entries = readdirSync(dir); } catch { return; }
  for (const name of entries) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
}
for (const pkg of readdirSync('packages')) walk(join('packages', pkg, 'dist', 'test'));
for (const pkg of readdirSync('packages')) walk(join('packages', pkg, 'dist', 'src'));
let selected = files.sort();
if (unitOnly) selected = selected.filter((f) => !f.endsWith('.int.test.js'));
if (filters.length) selected = selected.filter((f) => filters.some((x) => f.includes(x)));
if (selected.length === 0) { console.error('no test files found (did the build run?)'); process.exit(1); }
// Integration tests start real servers (PostgreSQL, moto, redis); two files at a time suits 2 cores.
const concurrency = process.env.FSDR_TEST_CONCURRENCY ?? '2';
const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=600000', ...selected], { stdio: 'inherit' });
process.exit(r.status ?? 1);
