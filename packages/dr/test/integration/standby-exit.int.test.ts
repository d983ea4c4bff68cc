// A standby whose postmaster refuses its directory exits at once; fsdr says why from the server
// log instead of waiting out its timeout (failback once hung here on a directory PostgreSQL refused).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type PostgresHandle } from '@featuresignals/testkit';
import { startStandbyInstance } from '../../src/commands/standby/standby.js';
import type { Config } from '../../src/config/load.js';
import { serverUser } from '../../src/postgres/os-user.js';

let pg: PostgresHandle | undefined;
after(async () => { await pg?.stop(); });

test('a standby that exits during startup fails with its FATAL line, not a timeout', async () => {
  pg = await startPostgres();
  await pg.stopServer();
  // A timeline the archive does not have: PostgreSQL stops with FATAL right after start.
  appendFileSync(join(pg.pgdata, 'postgresql.auto.conf'), "recovery_target_timeline = '99'\nrestore_command = 'false'\n");
  const signal = join(pg.pgdata, 'standby.signal');
  writeFileSync(signal, '');
  const log = join(pg.pgdata, '..', 'standby.log');
  writeFileSync(log, '');
  const u = serverUser();
  if (u) for (const f of [signal, log]) chownSync(f, u.uid, u.gid);
  const cfg = { cluster: { connection: pg.connectionString, pgdata: pg.pgdata } } as unknown as Config;
  await assert.rejects(startStandbyInstance(cfg, pg.binDir, pg.pgdata, log, 120_000), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'FSDR_STANDBY_EXITED', err.message);
    assert.match(err.message, /exited during startup: .*timeline 99/);
    return true;
  });
});
