// pg_rewind for failback: the old primary's directory brought onto the new primary's timeline by
// copying only the blocks that changed since the fork, instead of a whole restore. Used only when
// it loses nothing: the prerequisites hold (data checksums or wal_log_hints, a clean shutdown),
// and pg_waldump finds no transaction the old primary committed after the point where the two
// diverged (a switchover leaves only its shutdown checkpoint there). Otherwise failback keeps the
// old directory aside, whole, for whoever must reconcile what it committed, and restores afresh.
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describeError, FsdrError } from '../errors.js';
import { connect } from '../postgres/cluster.js';
import type { OsUser } from '../postgres/os-user.js';

const run = promisify(execFile);

export interface RewindCheck {
  usable: boolean;
  /** why pg_rewind is or is not used, for the report */
  why: string;
  divergedAt?: string;
  timeline?: number;
  divergentCommits?: number;
}

async function tool(binDir: string, name: string, args: string[], user?: OsUser): Promise<{ code: number; out: string }> {
  try {
    const r = await run(join(binDir, name), args, { uid: user?.uid, gid: user?.gid, cwd: '/', maxBuffer: 64 << 20 });
    return { code: 0, out: `${r.stdout}${r.stderr}` };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message };
  }
}

/** pg_controldata's "name: value" lines. */
export function parseControlData(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return m;
}

/** "servers diverged at WAL location 0/3000000 on timeline 1" from pg_rewind's output. */
export function parseDivergence(out: string): { lsn: string; timeline: number } | 'none' | undefined {
  if (/no rewind required/.test(out)) return 'none';
  const m = /servers diverged at WAL location ([0-9A-F]+\/[0-9A-F]+) on timeline (\d+)/i.exec(out);
  return m ? { lsn: m[1]!, timeline: Number(m[2]) } : undefined;
}

/** Commit records in pg_waldump's output (an abort or a prepare is not a commit the client saw). */
export function countCommits(waldump: string): number {
  return waldump.split('\n').filter((l) => /rmgr: Transaction\s/.test(l) && /desc: COMMIT\b/.test(l)).length;
}

/**
 * pg_rewind reads the target's WAL back to the last checkpoint before the fork; what pg_wal no
 * longer holds comes from this node's own repository (--restore-target-wal runs the target's
 * restore_command). The setting is added for the run and the file put back as it was.
 */
async function withRestoreCommand<T>(pgdata: string, restoreCommand: string, fn: () => Promise<T>): Promise<T> {
  const file = join(pgdata, 'postgresql.auto.conf');
  const before = await readFile(file, 'utf8').catch(() => '');
  await writeFile(file, `${before.replace(/\n*$/, '\n')}restore_command = '${restoreCommand.replace(/'/g, "''")}'  # fsdr failback: pg_rewind\n`);
  try {
    return await fn();
  } finally {
    await writeFile(file, before);
  }
}

/**
 * pg_rewind (PostgreSQL 15) reads the source's timeline from its control file, which a promotion
 * updates only at the next checkpoint: against a just-promoted primary it sees the old timeline,
 * says "no rewind required", and leaves a directory the server then refuses ("requested timeline
 * N is not a child of this server's history"). So: a checkpoint first, and proof that it took.
 */
export async function settleSource(source: string): Promise<{ ok: true; timeline: number } | { ok: false; why: string }> {
  const c = await connect(source, 'fsdr failback');
  try {
    if ((await c.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r) return { ok: false, why: 'the new primary is still in recovery: fresh restore' };
    await c.query('CHECKPOINT');
    const t = (await c.query<{ control: number; running: string }>(
      'SELECT (SELECT timeline_id FROM pg_control_checkpoint()) AS control, substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) AS running',
    )).rows[0]!;
    const running = parseInt(t.running, 16);
    if (t.control !== running) return { ok: false, why: `the new primary's control file is on timeline ${t.control} after a checkpoint, its WAL on ${running}: fresh restore` };
    return { ok: true, timeline: running };
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** The stopped old primary at `pgdata` against the new primary at `source` (a libpq conninfo). */
export async function checkRewind(binDir: string, pgdata: string, source: string, restoreCommand: string, user?: OsUser): Promise<RewindCheck> {
  const settled = await settleSource(source).catch((err: unknown) => ({ ok: false as const, why: `the new primary cannot be reached (${describeError(err)}): fresh restore` }));
  if (!settled.ok) return { usable: false, why: settled.why };
  return withRestoreCommand(pgdata, restoreCommand, () => check(binDir, pgdata, source, user));
}

async function check(binDir: string, pgdata: string, source: string, user?: OsUser): Promise<RewindCheck> {
  const cd = await tool(binDir, 'pg_controldata', ['-D', pgdata], user);
  if (cd.code !== 0) return { usable: false, why: `pg_controldata failed: ${cd.out.trim().split('\n').pop()}` };
  const c = parseControlData(cd.out);
  const checksums = (c.get('Data page checksum version') ?? '0') !== '0';
  const hints = c.get('wal_log_hints setting') === 'on';
  if (!checksums && !hints) return { usable: false, why: 'neither data checksums nor wal_log_hints: pg_rewind cannot tell which blocks changed (fresh restore)' };
  if (c.get('Database cluster state') !== 'shut down') return { usable: false, why: `the old primary was not shut down cleanly (${c.get('Database cluster state')}): fresh restore` };
  const dry = await tool(binDir, 'pg_rewind', ['--dry-run', '--restore-target-wal', '--target-pgdata', pgdata, '--source-server', source], user);
  const d = parseDivergence(dry.out);
  if (dry.code !== 0 || !d) return { usable: false, why: `pg_rewind --dry-run failed: ${dry.out.trim().split('\n').pop()}` };
  if (d === 'none') return { usable: true, why: 'pg_rewind: no rewind required', divergentCommits: 0 };
  // Everything the old primary wrote on its timeline from the fork on: any COMMIT is a lost write.
  const wd = await tool(binDir, 'pg_waldump', ['-p', join(pgdata, 'pg_wal'), '-t', String(d.timeline), '-s', d.lsn], user);
  if (/could not find file|could not open file|could not find a valid record/.test(wd.out) && !/rmgr:/.test(wd.out)) {
    return { usable: false, why: `the old primary's WAL from the fork (${d.lsn}) cannot be read from pg_wal (${wd.out.trim().split('\n').pop()}): its writes after the fork cannot be ruled out (fresh restore)`, divergedAt: d.lsn, timeline: d.timeline };
  }
  const commits = countCommits(wd.out);
  if (commits > 0) {
    return { usable: false, why: `the old primary committed ${commits} transaction(s) after the fork at ${d.lsn}: its directory is kept aside whole (fresh restore)`, divergedAt: d.lsn, timeline: d.timeline, divergentCommits: commits };
  }
  return { usable: true, why: `diverged at ${d.lsn} on timeline ${d.timeline} with no transaction committed after it: pg_rewind`, divergedAt: d.lsn, timeline: d.timeline, divergentCommits: 0 };
}

// pg_rewind copies the source's configuration files too; the node keeps its own (port, archive_command).
const OWN_FILES = ['postgresql.conf', 'postgresql.auto.conf', 'pg_hba.conf', 'pg_ident.conf'];

/** Rewinds `pgdata` from `source`, keeping this node's configuration files. */
export async function rewind(binDir: string, pgdata: string, source: string, restoreCommand: string, user?: OsUser): Promise<{ seconds: number }> {
  const t0 = Date.now();
  const file = join(pgdata, 'postgresql.auto.conf');
  await writeFile(file, `${(await readFile(file, 'utf8').catch(() => '')).replace(/\n*$/, '\n')}restore_command = '${restoreCommand.replace(/'/g, "''")}'  # fsdr failback: pg_rewind\n`);
  const keep = await mkdtemp(join(tmpdir(), 'fsdr-rewind-'));
  try {
    for (const f of OWN_FILES) await copyFile(join(pgdata, f), join(keep, f)).catch(() => undefined);
    const r = await tool(binDir, 'pg_rewind', ['--restore-target-wal', '--target-pgdata', pgdata, '--source-server', source], user);
    if (r.code !== 0) {
      throw new FsdrError('FSDR_REWIND_FAILED', `pg_rewind of ${pgdata} failed: ${r.out.trim().split('\n').pop()}`, { hint: 'run fsdr failback again: without a usable rewind it restores afresh, keeping the old directory aside' });
    }
    for (const f of OWN_FILES) await copyFile(join(keep, f), join(pgdata, f)).catch(() => undefined);
    return { seconds: (Date.now() - t0) / 1000 };
  } finally {
    await rm(keep, { recursive: true, force: true });
  }
}
