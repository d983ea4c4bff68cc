// fsdr check: is this host ready to protect its cluster? Every check runs that can run (a failed
// one is a line, never an exception that hides the rest): the config and key, each repository,
// the cluster and its settings, then a WAL switch watched into the primary repository.
import { readConfigFile, resolveConfig, type Config } from '../../config/load.js';
import type { FileConfig } from '../../config/schema.js';
import { keyId } from '../../keys/master-key.js';
import { Repository } from '../../repository/repository.js';
import { spoolDir } from '../wal-push/spool.js';
import { checkConnection, checkPgdataOf, ownerOf, readSettings, type Connected } from '../../checks/cluster.js';
import { checkRepository, checkRepositoryWithoutKey } from '../../checks/repository.js';
import { failed, fail, ok, skip, type CheckResult } from '../../checks/result.js';
import { archiveCommandCheck, archiveModeCheck, failbackCheck, walLevelCheck } from '../../checks/server-settings.js';
import { checkSpool } from '../../checks/spool.js';
import { SLOT_SQL, streamingCheck } from '../../checks/streaming.js';
import { checkWalSwitch } from '../../checks/wal-switch.js';

export interface CheckOptions {
  /** Repositories to check (default: every configured one). */
  repos?: string[];
  /** Bound on each repository's answer and on the WAL switch's arrival. */
  timeoutSeconds: number;
}

export interface CheckReport {
  checks: CheckResult[];
  /** 0 all ok or warn, 1 a check failed, 2 the config could not be read (nothing else ran). */
  exitCode: 0 | 1 | 2;
}

export async function runCheck(configArg: string | undefined, opts: CheckOptions): Promise<CheckReport> {
  let file: FileConfig;
  let source: string;
  try {
    ({ file, source } = readConfigFile(configArg));
  } catch (err) {
    return { checks: [failed('config', err)], exitCode: 2 };
  }
  const names = opts.repos?.length ? [...new Set(opts.repos)] : Object.keys(file.repositories);
  const unknown = names.find((n) => !file.repositories[n]);
  if (unknown) return { checks: [fail('config', `no repository named ${unknown} in ${source}`, `configured: ${Object.keys(file.repositories).join(', ')}`, 'FSDR_REPO_UNKNOWN')], exitCode: 2 };

  const checks: CheckResult[] = [ok('config', `${source} valid`)];
  let cfg: Config | undefined;
  try {
    cfg = resolveConfig(file, source);
    checks.push(ok('master key', `key ${keyId(cfg.masterKey)} from ${file.encryption.masterKey}`));
  } catch (err) {
    checks.push(failed('master key', err));
  }

  // The repositories are read while the cluster is connected; each compares its repo.json with
  // the cluster's identity once that is known.
  const conn: Promise<Connected | undefined> = file.cluster ? checkConnection(file.cluster.connection) : Promise.resolve(undefined);
  const repoChecks = Promise.all(names.map((n) => cfg
    ? checkRepository(cfg, n, opts.timeoutSeconds, conn.then((c) => c?.id))
    : checkRepositoryWithoutKey(file.repositories[n]!, n, opts.timeoutSeconds)));
  const connected = await conn;
  try {
    const repoResults = await repoChecks;
    checks.push(...repoResults);
    const primaryOk = !names.includes('primary') || repoResults[names.indexOf('primary')]!.status === 'ok';
    checks.push(...(await clusterChecks(file, source, cfg, connected, primaryOk, opts.timeoutSeconds)));
  } finally {
    await connected?.client?.end().catch(() => undefined);
  }
  return { checks, exitCode: checks.some((c) => c.status === 'fail') ? 1 : 0 };
}

async function clusterChecks(file: FileConfig, source: string, cfg: Config | undefined, connected: Connected | undefined, primaryOk: boolean, seconds: number): Promise<CheckResult[]> {
  const cluster = file.cluster;
  if (!cluster || !connected) return [skip('cluster', 'no cluster section in the config: only the repositories were checked')];
  const out: CheckResult[] = [connected.result];
  const spool = async () => file.archive.async ? [await checkSpool(spoolDir(file.archive.spoolPath, source), await ownerOf(cluster.pgdata))] : [];
  const { client, id } = connected;
  if (!client || !id) {
    const needs = 'not checked: needs cluster.connection';
    return [...out, ...['cluster.pgdata', 'archive_mode', 'archive_command', 'wal_level', 'failback (pg_rewind)'].map((c) => skip(c, needs)), ...(await spool()), skip('wal switch', needs)];
  }
  out.push(await checkPgdataOf(client, cluster.pgdata, id));
  let mode: CheckResult;
  try {
    const s = await readSettings(client);
    mode = archiveModeCheck(s);
    out.push(mode, archiveCommandCheck(s, source), walLevelCheck(s), failbackCheck(s));
  } catch (err) {
    mode = failed('server settings', err);
    out.push(mode);
  }
  out.push(...(await spool()));
  if (file.archive.streaming.enabled) out.push(await streaming(client, file.archive.streaming.slot));
  out.push(await walSwitch(cfg, client, mode, primaryOk, seconds));
  return out;
}

async function streaming(client: NonNullable<Connected['client']>, slotName: string): Promise<CheckResult> {
  try {
    const slot = (await client.query<{ active: boolean; wal_status: string | null }>(SLOT_SQL, [slotName])).rows[0];
    const keep = (await client.query<{ max_slot_wal_keep_size: string }>('SHOW max_slot_wal_keep_size')).rows[0]!.max_slot_wal_keep_size;
    return streamingCheck(slotName, slot && { active: slot.active, walStatus: slot.wal_status }, keep);
  } catch (err) {
    return failed('streaming', err);
  }
}

async function walSwitch(cfg: Config | undefined, client: NonNullable<Connected['client']>, mode: CheckResult, primaryOk: boolean, seconds: number): Promise<CheckResult> {
  // Not attempted when it cannot succeed: waiting out the timeout would only repeat a failure
  // already on another line.
  if (mode.status === 'fail') return fail('wal switch', `not attempted: ${mode.message.split(':')[0]}, so no segment can reach the repository`, mode.hint);
  if (!cfg) return skip('wal switch', 'not checked: needs the master key');
  if (!primaryOk) return skip('wal switch', 'not checked: needs repository primary');
  let repo: Repository | undefined;
  try {
    repo = await Repository.open(cfg);
    return await checkWalSwitch(client, repo, seconds);
  } catch (err) {
    return failed('wal switch', err);
  } finally {
    void repo?.close().catch(() => undefined);
  }
}

const LABEL: Record<CheckResult['status'], string> = { ok: 'ok', fail: 'FAIL', warn: 'warn', skip: 'skip' };

export function formatChecks(checks: CheckResult[]): string {
  const w = Math.max(...checks.map((c) => c.check.length));
  return checks.map((c) => `${LABEL[c.status].padEnd(4)}  ${c.check.padEnd(w)}  ${c.message}${c.hint ? ` (hint: ${c.hint})` : ''}`).join('\n');
}
