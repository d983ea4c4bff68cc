// `npm run bench -- fence`: what the split-brain guard costs each writer. wal-push runs once per
// WAL segment, so the fence check (LIST fence/ + GET of the highest, in this region's repository
// and the other region's, concurrently) is measured in-process against two moto S3 servers:
//   reachable:   both repositories answer
//   peer-cut:    the other region's endpoint refuses connections (first check pays the failure;
//                later checks within 30 s skip the peer: the negative cache)
// Options (after `fence`): --rounds N (50).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startMoto, startTcpProxy } from '@featuresignals/testkit';
import { createBucket, s3Client } from '../test/helpers/s3.js';
import { validateConfig } from '../src/config/load.js';
import { fenceState, writeFence } from '../src/failover/fence.js';
import { openStorage } from '../src/storage/open-storage.js';
import type { Config } from '../src/config/load.js';
import type { BenchContext } from './common.js';

function stats(ms: number[]): { median: number; p95: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]! * 10) / 10;
  return { median: at(0.5), p95: at(0.95), max: at(1) };
}

export async function run(ctx: BenchContext): Promise<Record<string, unknown>> {
  const i = ctx.args.indexOf('--rounds');
  const rounds = i >= 0 ? Number(ctx.args[i + 1]) : 50;
  const [a, b] = await Promise.all([startMoto(), startMoto()]);
  const proxy = await startTcpProxy(b.port);
  const dir = mkdtempSync(join(tmpdir(), 'fsdr-bench-fence-'));
  try {
    Object.assign(process.env, a.env);
    for (const [m, name] of [[a, 'eu'], [b, 'us']] as const) await createBucket(s3Client(m), `fence-${name}`, false);
    const repo = (bucket: string, port: number) => ({ type: 's3', bucket, endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, timeouts: { connectSeconds: 2, idleSeconds: 5 }, attempts: 1 });
    const file = validateConfig({
      regions: { primary: 'eu', standby: 'us', self: 'eu', members: {
        eu: { cluster: { connection: 'postgres://x@127.0.0.1:1/p', pgdata: '/unused' }, repository: repo('fence-eu', a.port) },
        us: { cluster: { connection: 'postgres://x@127.0.0.1:1/p', pgdata: '/unused' }, repository: repo('fence-us', proxy.port) },
      } },
      encryption: { masterKey: 'env:UNUSED' },
    });
    // A unique source per run: the negative cache is keyed by the peer's description.
    const cfg = { ...file, source: join(dir, `${randomBytes(4).toString('hex')}.yaml`), masterKey: Buffer.alloc(32) } as Config;
    writeFileSync(cfg.source, '');
    const own = await openStorage(cfg.repositories.primary, 'primary');
    await writeFence(own, { epoch: 1, region: 'eu', at: new Date().toISOString(), by: 'bench' });
    await own.close();
    const time = async (n: number): Promise<number[]> => {
      const out: number[] = [];
      for (let k = 0; k < n; k++) {
        const t0 = performance.now();
        const st = await fenceState(cfg);
        out.push(performance.now() - t0);
        if (st!.writer !== 'eu') throw new Error('unexpected fence state');
      }
      return out;
    };
    ctx.log(`fence check, both repositories reachable (${rounds} rounds)`);
    const reachable = stats(await time(rounds));
    proxy.cut();
    ctx.log('fence check, the other region cut off');
    const first = (await time(1))[0]!;
    const cached = stats(await time(rounds));
    const rows = [
      { case: 'reachable', median_ms: reachable.median, p95_ms: reachable.p95, max_ms: reachable.max },
      { case: 'peer cut: first check', median_ms: Math.round(first * 10) / 10, p95_ms: '', max_ms: '' },
      { case: 'peer cut: within 30 s', median_ms: cached.median, p95_ms: cached.p95, max_ms: cached.max },
    ];
    return {
      tables: [{ title: 'fence check per writer call (in-process, two moto S3 servers, loopback)', columns: ['case', 'median_ms', 'p95_ms', 'max_ms'], rows }],
      notes: ['A sync wal-push costs ~300 ms of process start and push on this machine (npm run bench -- wal); the check adds the median above.'],
      rounds,
    };
  } finally {
    await proxy.close();
    await Promise.all([a.stop(), b.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}
