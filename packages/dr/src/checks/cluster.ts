// The cluster side of `fsdr check`: can we connect, is cluster.pgdata the connected server's
// data directory (postgres/pgdata-check.ts, the test backup relies on), and its settings.
import { stat } from 'node:fs/promises';
import type pg from 'pg';
import { connect, readIdentity, redactUrl, type ClusterIdentity } from '../postgres/cluster.js';
import { checkPgdata } from '../postgres/pgdata-check.js';
import { failed, ok, type CheckResult } from './result.js';
import { SETTINGS_SQL, type ServerSettings } from './server-settings.js';

export interface Connected {
  result: CheckResult;
  client?: pg.Client;
  id?: ClusterIdentity;
}

export async function checkConnection(connection: string): Promise<Connected> {
  const check = 'cluster.connection';
  let client: pg.Client | undefined;
  try {
    client = await connect(connection, 'fsdr check');
    const id = await readIdentity(client);
    const v = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
    return { result: ok(check, `${redactUrl(connection)}: PostgreSQL ${v}, system identifier ${id.systemIdentifier}, timeline ${id.timeline}`), client, id };
  } catch (err) {
    await client?.end().catch(() => undefined);
    return { result: failed(check, err) };
  }
}

export async function checkPgdataOf(client: pg.Client, pgdata: string, id: ClusterIdentity): Promise<CheckResult> {
  try {
    await checkPgdata(client, pgdata, id);
    return ok('cluster.pgdata', `${pgdata} is the server's data directory`);
  } catch (err) {
    return failed('cluster.pgdata', err);
  }
}

export async function readSettings(client: pg.Client): Promise<ServerSettings> {
  const rows = (await client.query<{ name: string; setting: string }>(SETTINGS_SQL)).rows;
  return Object.fromEntries(rows.map((r) => [r.name, r.setting])) as unknown as ServerSettings;
}

/** The OS user that owns the data directory: the one PostgreSQL (and archive_command) runs as. */
export async function ownerOf(pgdata: string): Promise<number | undefined> {
  return (await stat(pgdata).catch(() => undefined))?.uid;
}
