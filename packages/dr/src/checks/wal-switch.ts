// The end-to-end proof that archiving works: complete a WAL segment now and watch it arrive in
// the repository, as pgBackRest's check does. Settings can all look right while the archiver
// fails (a key the postgres user cannot read, an unreachable bucket): only this shows it.
import type pg from 'pg';
import { parseWalName } from '../postgres/wal-name.js';
import type { Repository } from '../repository/repository.js';
import { fail, failed, ok, skip, type CheckResult } from './result.js';

const CHECK = 'wal switch';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function checkWalSwitch(client: pg.Client, repo: Repository, seconds: number): Promise<CheckResult> {
  try {
    const standby = (await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r;
    if (standby) return skip(CHECK, 'the server is a standby (in recovery): it cannot switch WAL; run fsdr check on the primary');
    // A tiny write, so the current segment is not empty and pg_switch_wal really completes one
    // (on an idle server it would return without switching). A logical message touches no table.
    await client.query("SELECT pg_logical_emit_message(false, 'fsdr', 'check')");
    const segment = (await client.query<{ f: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS f')).rows[0]!.f;
    const wal = parseWalName(segment)!;
    const t0 = Date.now();
    for (;;) {
      if (await repo.wal.head(wal)) {
        const took = (Date.now() - t0) / 1000;
        return ok(CHECK, `${segment} reached repository ${repo.name} in ${took.toFixed(1)}s`, { seconds: took });
      }
      if (Date.now() - t0 >= seconds * 1000) return fail(CHECK, `${segment} did not reach repository ${repo.name} within ${seconds}s${await archiverState(client, segment)}`, 'see the PostgreSQL log for archive_command errors; try the command by hand as the postgres user', 'FSDR_CHECK_WAL_NOT_ARCHIVED');
      await sleep(250);
    }
  } catch (err) {
    const e = err as { code?: string };
    // 42501: insufficient_privilege (pg_switch_wal needs superuser or a GRANT).
    if (e.code === '42501') return fail(CHECK, `the connected role may not switch WAL: ${(err as Error).message}`, 'connect as a superuser, or GRANT EXECUTE ON FUNCTION pg_switch_wal() and pg_logical_emit_message(boolean, text, text) to the role');
    return failed(CHECK, err);
  }
}

/** What pg_stat_archiver says about it, as a suffix of the failure message. */
async function archiverState(client: pg.Client, segment: string): Promise<string> {
  const r = await client.query<{ last_archived_wal: string | null; last_failed_wal: string | null; last_failed_time: Date | null }>(
    'SELECT last_archived_wal, last_failed_wal, last_failed_time FROM pg_stat_archiver').catch(() => undefined);
  const s = r?.rows[0];
  if (!s) return '';
  if (s.last_failed_wal === segment) return ` (archive_command failed for it at ${s.last_failed_time?.toISOString()})`;
  return ` (last archived: ${s.last_archived_wal ?? 'none'}${s.last_failed_wal ? `, last failed: ${s.last_failed_wal}` : ''})`;
}
