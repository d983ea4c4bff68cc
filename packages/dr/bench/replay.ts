// `npm run bench -- replay`: WAL replay during recovery, the part of the RTO that grows with how
// busy the database was. The same base backup and the same N archived segments, replayed by
// PostgreSQL 15 with three restore_commands, interleaved by round:
//
//   cp          cp from a local directory (the archiver copied each segment there too): the floor
//   fsdr sync   fsdr wal-fetch, one Node process per segment, from a directory repository
//   fsdr async  archive.async: bin/fsdr-fetch.sh renames what the prefetcher (archive.processes
//               segments in flight in worker threads, archive.prefetch.depth ahead) already
//               fetched, decrypted and checked, or waits for one in flight; Node only on a miss
//               (counted from the server log: wal-fetch writes one line per miss)
//
// cp: `fsdr restore --no-start --latest` (files), restore_command set to cp, pg_ctl start, timed
// until the instance leaves recovery. fsdr: `fsdr restore --latest --json`, its recovery phase
// (from the file phase's end to promotion and its end-of-recovery checks: slightly more than cp's
// measure). Every run: the replayed table's checksum must equal the source's.
//
// Options (after `replay`): --segments N (100), --rounds R (2), --processes N (2), --keep.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import pg from 'pg';
import { freePort, startPostgres, sleep, type PostgresHandle } from '@featuresignals/testkit';
import { FSDR_BIN, giveToPostgres } from '../test/helpers/fsdr.js';
import { findBinDir } from '../src/postgres/binaries.js';
import { f1, f2, measure, measureOk, median, mkdirPg, gitState, openBenchRun, orderFor, parseScaleOptions, takeNumber, type BenchContext } from './common.js';

const METHODS = ['cp', 'fsdr sync', 'fsdr async'] as const;
type Method = (typeof METHODS)[number];
// Per block of 10,000 rows, then over the blocks: one string_agg over 200 segments' rows passes
// PostgreSQL's 1 GB limit ("out of memory").
const CHECKSUM = `SELECT md5(string_agg(h, ',' ORDER BY b)) AS s FROM (SELECT id / 10000 AS b, md5(string_agg(id || pad, ',' ORDER BY id)) AS h FROM filler GROUP BY 1) blocks`;

async function queryPort<T extends pg.QueryResultRow>(port: number, sql: string): Promise<T[]> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  await c.connect();
  try { return (await c.query<T>(sql)).rows; } finally { await c.end(); }
}

export async function run(ctx: BenchContext): Promise<Record<string, unknown>> {
  const [segments, rest] = takeNumber(ctx.args, '--segments', 100, 4, 5000);
  const opt = parseScaleOptions(rest, { rounds: 2 });
  const log = ctx.log;
  const bench = await openBenchRun('fsdr-bench-replay-', log, opt.keep);
  const { work, check } = bench;
  let src: PostgresHandle | undefined;
  try {
    const keyFile = join(work, 'master.key');
    writeFileSync(keyFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    giveToPostgres(keyFile);
    const repo = mkdirPg(join(work, 'repo'));
    const local = mkdirPg(join(work, 'wal-copy'));
    const spool = mkdirPg(join(work, 'spool'), 0o700);
    const doc = (async: boolean, cluster: { connection: string; pgdata: string }) => ({
      cluster, repositories: { primary: { type: 'fs', path: repo } }, encryption: { masterKey: `file:${keyFile}` },
      compression: { algorithm: 'zstd', level: opt.level }, backup: { processes: opt.processes },
      archive: { async, processes: opt.processes, spoolPath: spool },
    });
    const write = (name: string, d: unknown) => { const f = join(work, name); writeFileSync(f, stringify(d)); giveToPostgres(f); return f; };
    const syncCfg = write('sync.yaml', doc(false, { connection: 'postgres://postgres@127.0.0.1:1/postgres', pgdata: '/unused' }));
    src = await startPostgres({ settings: { wal_level: 'replica', archive_mode: 'on', max_wal_size: '4GB', archive_command: `cp %p ${local}/%f && FSDR_CONFIG=${syncCfg} ${process.execPath} ${FSDR_BIN} wal-push %p` } });
    const cluster = { connection: src.connectionString, pgdata: src.pgdata };
    write('sync.yaml', doc(false, cluster));
    const asyncCfg = write('async.yaml', doc(true, cluster));
    const fsdr = (cfg: string) => `${process.execPath} ${FSDR_BIN} --config ${cfg}`;
    await measureOk(`${fsdr(syncCfg)} init`);
    await src.query('CREATE TABLE filler (id bigint PRIMARY KEY, pad text NOT NULL)');
    await measureOk(`${fsdr(syncCfg)} backup --type full`);
    // About `segments` segments of WAL after the backup, all archived.
    const lsn0 = (await src.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]!.l;
    let id = 0;
    for (;;) {
      await src.query(`INSERT INTO filler SELECT g, repeat(md5(g::text), 8) FROM generate_series(${id + 1}, ${id + 20000}) g`);
      id += 20000;
      const b = Number((await src.query<{ b: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::bigint AS b', [lsn0])).rows[0]!.b);
      if (b >= segments * 16 * 1048576) break;
    }
    const want = (await src.query<{ s: string }>(CHECKSUM)).rows[0]!.s;
    const last = (await src.query<{ f: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS f')).rows[0]!.f;
    for (let i = 0; ; i++) {
      const w = (await src.query<{ w: string | null }>('SELECT last_archived_wal AS w FROM pg_stat_archiver')).rows[0]!.w;
      if (w && w >= last) break;
      if (i > 6000) throw new Error('the archiver did not catch up within 10 min');
      await sleep(100);
    }
    await src.stop();
    src = undefined;
    log(`${segments} segments of WAL after the backup archived (local copy and repository)`);

    const binDir = findBinDir(15);
    const samples: Array<{ method: Method; round: number; seconds: number; segmentsPerSec: number; exact: boolean; misses?: number }> = [];
    for (let r = 0; r < opt.rounds; r++) {
      for (const m of orderFor(METHODS, r)) {
        check();
        const pgdata = join(work, `replay-${r}-${m.replace(' ', '-')}`);
        // A free port each run: the machine is shared, and a taken one made the instance exit at
        // once while this loop waited an hour for it.
        const port = await freePort();
        let seconds: number;
        let serverLog: string;
        if (m === 'cp') {
          await measureOk(`exec ${fsdr(syncCfg)} restore --pgdata ${pgdata} --port ${port} --latest --no-start`);
          const auto = join(pgdata, 'postgresql.auto.conf');
          writeFileSync(auto, readFileSync(auto, 'utf8').replace(/^restore_command = .*$/m, `restore_command = 'cp ${local}/%f %p'`));
          serverLog = `${pgdata}.log`;
          const t0 = Date.now();
          await measureOk(`${binDir}/pg_ctl -D ${pgdata} -l ${serverLog} start -W`);
          for (;;) {
            const rows = await queryPort<{ r: boolean }>(port, 'SELECT pg_is_in_recovery() AS r').catch(() => undefined);
            if (rows && rows[0]!.r === false) break;
            if (!rows && Date.now() - t0 > 3000 && !existsSync(join(pgdata, 'postmaster.pid'))) throw new Error(`${m}: the instance exited during recovery (see ${serverLog})`);
            if (Date.now() - t0 > 3_600_000) throw new Error(`${m}: recovery did not end within an hour (see ${serverLog})`);
            await sleep(50);
          }
          seconds = (Date.now() - t0) / 1000;
        } else {
          // fsdr's own restore, as a user runs it: its recovery phase (prefetcher launch, start,
          // replay, promotion, the end-of-recovery checks), from its JSON.
          const out = await measureOk(`exec ${fsdr(m === 'fsdr async' ? asyncCfg : syncCfg)} restore --pgdata ${pgdata} --port ${port} --latest --json`);
          const r = JSON.parse(out.stdout) as { seconds: { recovery: number }; logFile: string };
          seconds = r.seconds.recovery;
          serverLog = r.logFile;
        }
        const exact = (await queryPort<{ s: string }>(port, CHECKSUM))[0]!.s === want;
        // Segments the fast path missed: each one cost a Node start (wal-fetch logs one line each).
        const misses = m === 'fsdr async' ? (readFileSync(serverLog, 'utf8').match(/was not prefetched/g) ?? []).length : undefined;
        await measure(`${binDir}/pg_ctl -D ${pgdata} -m immediate -w stop`);
        await measure(`rm -rf ${pgdata}`);
        samples.push({ method: m, round: r, seconds, segmentsPerSec: segments / seconds, exact, misses });
        log(`round ${r} ${m.padEnd(10)} ${f1(seconds).padStart(6)} s  ${f1(segments / seconds).padStart(6)} segments/s  ${exact ? 'exact' : 'DIFFERENT'}${misses === undefined ? '' : `  ${misses} segments not prefetched`}`);
        if (!exact) throw new Error(`${m}: the replayed table differs from the source`);
      }
    }
    const med = (m: Method) => median(samples.filter((s) => s.method === m).map((s) => s.seconds));
    const floor = med('cp');
    const git = await gitState();
    return {
      segments, rounds: opt.rounds, processes: opt.processes, samples, git,
      tables: [{
        title: `WAL replay of ${segments} archived segments (median of ${opt.rounds}; cp: pg_ctl start until promoted; fsdr: restore's recovery phase)`,
        columns: ['restore_command', 'seconds', 'segments/s', 'vs cp'],
        rows: METHODS.map((m) => [m, f1(med(m)), f1(segments / med(m)), `${f2(med(m) / floor)}x`]),
      }],
      notes: [`fsdr ${git.head}${git.dirtySrcFiles ? ` (+${git.dirtySrcFiles} uncommitted files)` : ''}; archive.processes ${opt.processes}`],
    };
  } finally {
    await src?.stop().catch(() => undefined);
    await bench.close();
  }
}
