// fsdr check's judgement of server settings and of the async spool, without a server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { archiveCommandCheck, archiveModeCheck, configOfCommand, failbackCheck, walLevelCheck, type ServerSettings } from '../../src/checks/server-settings.js';
import { checkSpool } from '../../src/checks/spool.js';

const base: ServerSettings = { archive_mode: 'on', archive_command: 'FSDR_CONFIG=/etc/fsdr.yaml fsdr wal-push %p', archive_library: '', wal_level: 'replica', wal_log_hints: 'off', data_checksums: 'off' };

test('archive_mode: on and always pass, off fails with the restart hint', () => {
  assert.equal(archiveModeCheck(base).status, 'ok');
  assert.equal(archiveModeCheck({ ...base, archive_mode: 'always' }).status, 'ok');
  const r = archiveModeCheck({ ...base, archive_mode: 'off' });
  assert.equal(r.status, 'fail');
  assert.match(r.hint!, /restart/);
});

test('archive_command: fsdr wal-push passes, empty or archive_library fails, anything else warns, another config warns', () => {
  assert.equal(archiveCommandCheck(base, '/etc/fsdr.yaml').status, 'ok');
  assert.equal(archiveCommandCheck({ ...base, archive_command: '' }, '/etc/fsdr.yaml').status, 'fail');
  assert.equal(archiveCommandCheck({ ...base, archive_library: 'basic_archive' }, '/etc/fsdr.yaml').status, 'fail');
  assert.equal(archiveCommandCheck({ ...base, archive_command: 'cp %p /mnt/wal/%f' }, '/etc/fsdr.yaml').status, 'warn');
  const other = archiveCommandCheck(base, '/srv/other.yaml');
  assert.equal(other.status, 'warn');
  assert.match(other.message, /uses config \/etc\/fsdr\.yaml, this check read \/srv\/other\.yaml/);
});

test('the config an archive_command names', () => {
  assert.equal(configOfCommand('FSDR_CONFIG=/a.yaml fsdr wal-push %p'), '/a.yaml');
  assert.equal(configOfCommand("fsdr --config '/b c.yaml' wal-push %p"), '/b c.yaml');
  assert.equal(configOfCommand('fsdr --config=/c.yaml wal-push %p'), '/c.yaml');
  assert.equal(configOfCommand('fsdr -c /d.yaml wal-push %p'), '/d.yaml');
  assert.equal(configOfCommand('fsdr wal-push %p'), undefined);
});

test('wal_level minimal fails; failback needs wal_log_hints or checksums (warn otherwise)', () => {
  assert.equal(walLevelCheck(base).status, 'ok');
  assert.equal(walLevelCheck({ ...base, wal_level: 'minimal' }).status, 'fail');
  assert.equal(failbackCheck(base).status, 'warn');
  assert.equal(failbackCheck({ ...base, wal_log_hints: 'on' }).status, 'ok');
  assert.equal(failbackCheck({ ...base, data_checksums: 'on' }).status, 'ok');
});

test('the async spool: missing under a writable parent is ok, open to others or another owner fails', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fsdr-spool-check-'));
  try {
    const spool = join(dir, 'spool');
    assert.equal((await checkSpool(spool, undefined)).status, 'ok');
    mkdirSync(spool, { mode: 0o700 });
    assert.equal((await checkSpool(spool, process.getuid!())).status, 'ok');
    const other = await checkSpool(spool, process.getuid!() + 1);
    assert.equal(other.status, 'fail');
    assert.match(other.message, /owned by uid/);
    chmodSync(spool, 0o777);
    assert.match((await checkSpool(spool, undefined)).message, /writable by other users/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
