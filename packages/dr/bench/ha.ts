// `npm run bench -- ha`: in-region automatic failover, N times over. One etcd member, two Patroni
// nodes (PostgreSQL 15) configured by `fsdr ha config`, HAProxy on GET /primary, the FeatureSignals
// server through HAProxy; each round is one `fsdr drill instance` (kill -9 of the leader's
// postmaster under a writer, detection / promotion / client reconnect / /ready with golden
// matching, commits lost), then the old leader rejoins before the next round, so leadership
// alternates. Reported with the lease used, against the plan's 15 min and RDS Multi-AZ's 60–120 s.
// Options (after `ha`): --rounds N (10), --async (default synchronous), --node-loss (kill -9 Patroni
// and PostgreSQL of the leader together, so failover waits for the lease; the node is started
// again after each round), --ttl S (20), --loop-wait S (5), --retry-timeout S (5): the shipped defaults.
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../src/config/load.js';
import { runInstanceDrill, type InstanceDrillReport } from '../src/commands/drill/drill-instance.js';
import { makeWorkspace } from '../test/helpers/fsdr.js';
import { startHaStack, waitRole } from '../test/helpers/ha.js';
import type { BenchContext } from './common.js';

function opt(args: string[], name: string, def: number): number {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} expects a positive integer, got ${args[i + 1]}`);
  return v;
}

function stats(xs: number[]): { median?: number; p95?: number; max?: number } {
  if (!xs.length) return {};
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]! * 100) / 100;
  return { median: at(0.5), p95: at(0.95), max: at(1) };
}

export async function run(ctx: BenchContext): Promise<Record<string, unknown>> {
  const rounds = opt(ctx.args, '--rounds', 10);
  const synchronous = !ctx.args.includes('--async');
  const nodeLoss = ctx.args.includes('--node-loss');
  const lease = { ttl: opt(ctx.args, '--ttl', 20), loopWait: opt(ctx.args, '--loop-wait', 5), retryTimeout: opt(ctx.args, '--retry-timeout', 5) };
  const ws = makeWorkspace();
  ctx.log(`starting etcd, 2 Patroni nodes, HAProxy and the server (${synchronous ? 'synchronous' : 'asynchronous'}, ttl ${lease.ttl} / loop_wait ${lease.loopWait} / retry_timeout ${lease.retryTimeout})`);
  const { c, server, seeded } = await startHaStack(ws, { synchronous, ...lease });
  const reports: InstanceDrillReport[] = [];
  try {
    const doc = parse(readFileSync(c.nodes[0]!.configPath, 'utf8'));
    doc.ha.clientConnection = c.proxyUrl('featuresignals');
    doc.stack = { url: server.url, keys: { prod: 'env:FS_BENCH_PROD_KEY', staging: 'env:FS_BENCH_STAGING_KEY' } };
    process.env.FS_BENCH_PROD_KEY = seeded.keys.prod!;
    process.env.FS_BENCH_STAGING_KEY = seeded.keys.staging!;
    const cfg = loadConfig(ws.writeConfig(doc, 'bench.yaml'));
    for (let i = 1; i <= rounds; i++) {
      const kill = nodeLoss
        ? async (name: string) => {
          await c.nodes.find((n) => n.name === name)!.patroni!.kill();
          return { how: 'kill -9 of Patroni and the postmaster together (the node lost)' };
        }
        : undefined;
      const r = await runInstanceDrill(cfg, { waitRejoin: !nodeLoss, intervalMs: 20, timeoutMs: 180_000, kill });
      if (nodeLoss && r.oldLeader) {
        // The lost node comes back: Patroni starts, rewinds and rejoins as a replica.
        const old = c.nodes.find((n) => n.name === r.oldLeader)!;
        const t = Date.now();
        await old.patroni!.start();
        await waitRole(old, 'replica', 120_000);
        // The next round's preflight waits until the leader counts it (sync standby) again.
        r.phases.rejoinSeconds = Math.round((Date.now() - t) / 10) / 100;
      }
      reports.push(r);
      const p = r.phases;
      ctx.log(`round ${i}/${rounds}: ${r.oldLeader} → ${r.newLeader ?? '?'} ${r.result}${r.failure ? ` (${r.failure.step}: ${r.failure.message})` : ''}; detection ${p.detectionSeconds}s promotion ${p.promotionSeconds}s reconnect ${p.clientReconnectSeconds}s ready ${p.readySeconds}s; lost ${r.loss?.lost.length ?? '?'} of ${r.loss?.acknowledged ?? '?'}`);
      if (r.result !== 'ok' && !r.newLeader) break;
    }
  } finally {
    await server.close().catch(() => undefined);
    await c.stop();
    ws.cleanup();
  }
  const col = (k: keyof InstanceDrillReport['phases']) => reports.map((r) => r.phases[k]).filter((x): x is number => x !== undefined);
  const phases = [
    ['detection (leader lock leaves the killed node)', col('detectionSeconds')],
    ['promotion (another node answers GET /primary)', col('promotionSeconds')],
    ['client reconnect (first commit through HAProxy)', col('clientReconnectSeconds')],
    ['ready (/ready 200 on the new timeline, golden matching) = RTO', col('readySeconds')],
    ['old leader rejoined as replica', col('rejoinSeconds')],
  ] as const;
  const lost = reports.filter((r) => r.loss).map((r) => r.loss!.lost.length);
  const rpo = reports.map((r) => r.loss?.rpoSeconds ?? NaN).filter((x) => Number.isFinite(x));
  const rto = stats(col('readySeconds'));
  return {
    rounds: reports.length, synchronous, nodeLoss, lease, passed: reports.filter((r) => r.result === 'ok').length,
    reports: reports.map((r) => ({ id: r.id, result: r.result, failure: r.failure, oldLeader: r.oldLeader, newLeader: r.newLeader, phases: r.phases, loss: r.loss && { ...r.loss, lost: r.loss.lost.length } })),
    tables: [
      { title: `RTO phases over ${reports.length} failovers (seconds from kill -9 of the leader's ${nodeLoss ? 'Patroni and postmaster: the node lost' : 'postmaster'}${nodeLoss ? '; rejoin: from its restart' : ''})`, columns: ['phase', 'median', 'p95', 'max'], rows: phases.map(([name, xs]) => ({ phase: name, ...stats([...xs]) })) },
      { title: 'RPO', columns: ['measure', 'value'], rows: [
        { measure: 'acknowledged commits lost, total', value: lost.reduce((a, b) => a + b, 0) },
        { measure: 'failovers that measured it', value: lost.length },
        { measure: 'acknowledged commits, total', value: reports.reduce((a, r) => a + (r.loss?.acknowledged ?? 0), 0) },
        { measure: 'RPO max (s)', value: rpo.length ? Math.max(...rpo) : undefined },
      ] },
    ],
    notes: [
      `lease: ttl ${lease.ttl} s, loop_wait ${lease.loopWait} s, retry_timeout ${lease.retryTimeout} s, primary_start_timeout 0, ${synchronous ? 'synchronous_mode on' : 'asynchronous (maximum_lag_on_failover 1 MiB)'}; HAProxy check every 500 ms, fall 2.`,
      `RTO median ${rto.median ?? '—'} s, max ${rto.max ?? '—'} s: against the plan's instance-failure RTO of 15 min (900 s) and RDS Multi-AZ's published 60–120 s failover.`,
      'A crashed postmaster with primary_start_timeout 0 fails over on the old leader\'s next HA loop (≤ loop_wait); losing the whole node instead waits for the lease (≤ ttl).',
    ],
  };
}
