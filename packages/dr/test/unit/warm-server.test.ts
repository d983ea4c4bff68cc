// The warm server's state file: a pid is adopted only while it is the same process (its start
// time), so a pid the kernel reused for another program is never adopted or signalled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processStart, readWarmServer, saveWarmServer } from '../../src/stack/warm-server.js';

test('a recorded pid is adopted only with its own start time; a gone pid never', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fsdr-warm-'));
  try {
    const pgdata = join(dir, 'pg');
    const base = { pid: process.pid, port: 1, url: 'http://127.0.0.1:1', logFile: '/dev/null', startedAt: new Date().toISOString() };
    const start = processStart(process.pid);
    assert.match(start ?? '', /^\d+$/);
    saveWarmServer(pgdata, { ...base, procStart: start });
    assert.equal(readWarmServer(pgdata)?.pid, process.pid);
    saveWarmServer(pgdata, { ...base, procStart: String(Number(start) + 1) });
    assert.equal(readWarmServer(pgdata), undefined, 'the same pid, started at another time: another process');
    saveWarmServer(pgdata, { ...base, pid: 2 ** 22 + 12345, procStart: start });
    assert.equal(readWarmServer(pgdata), undefined, 'a pid that is gone');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
