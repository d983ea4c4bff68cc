#!/usr/bin/env node
// fs-golden: `record` a golden evaluation set through a live server, or `compare` a server (and the
// SDK) against one. Exit 0 when equal, 1 when anything differs, 2 on usage errors.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { recordFromServer, verifyAgainst } from './golden.js';
import type { GoldenRecord } from './record.js';

const USAGE = `usage:
  fs-golden record  --url URL --key ENV=SERVER_KEY [--key ...] --out FILE [--contexts N]
  fs-golden compare --url URL --key ENV=SERVER_KEY [--key ...] --golden FILE [--max-diffs N]`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: {
    url: { type: 'string' }, key: { type: 'string', multiple: true }, out: { type: 'string' }, golden: { type: 'string' },
    contexts: { type: 'string' }, 'max-diffs': { type: 'string' },
  } });
  const keys = Object.fromEntries((values.key ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  if (!values.url || Object.keys(keys).length === 0) { process.stderr.write(USAGE + '\n'); return 2; }
  const target = { url: values.url, keys, contextCount: values.contexts ? Number(values.contexts) : undefined };
  if (positionals[0] === 'record' && values.out) {
    const rec = await recordFromServer(target);
    writeFileSync(values.out, JSON.stringify(rec));
    process.stdout.write(`recorded ${rec.lines.length} evaluations, fingerprint ${rec.fingerprint}\n`);
    return 0;
  }
  if (positionals[0] === 'compare' && values.golden) {
    const golden = JSON.parse(readFileSync(values.golden, 'utf8')) as GoldenRecord;
    const v = await verifyAgainst(golden, target);
    const max = Number(values['max-diffs'] ?? 20);
    for (const [via, c] of Object.entries(v)) {
      process.stdout.write(`${via}: ${c.equal ? 'EQUAL' : 'DIFFERENT'} expected ${c.expectedFingerprint} actual ${c.actualFingerprint}` +
        ` (${c.differences.length} differences; rulesets changed: ${c.rulesetChanges.join(', ') || 'none'})\n`);
      for (const d of c.differences.slice(0, max)) process.stdout.write(`  ${d.env} ${d.flag} ${d.context}: expected ${d.expected} actual ${d.actual}\n`);
    }
    return v.server.equal && v.sdk.equal ? 0 : 1;
  }
  process.stderr.write(USAGE + '\n');
  return 2;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (err: Error) => { process.stderr.write(`fs-golden: ${err.message}\n`); process.exit(2); });
