// fsdr wal-push %p: PostgreSQL's archive_command. Returns only once the file is durably in the
// repository (sync), or once the async pusher has reported it stored (async). Any failure throws,
// so the exit is non-zero and PostgreSQL keeps the file and retries.
import { spawn } from 'node:child_process';
import { readFile, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config/load.js';
import { FsdrError } from '../../errors.js';
import type { PushOutcome } from '../../repository/wal-archive.js';
import { outDir, spoolDir } from './spool.js';
import { lockHeld } from './spool-lock.js';

const FSDR_BIN = fileURLToPath(new URL('../../../../bin/fsdr.js', import.meta.url));

export async function walPush(cfg: Config, path: string): Promise<PushOutcome> {
  // Fenced regions archive nothing: PostgreSQL keeps the segment and retries (pg_wal grows, alerts).
  if (cfg.regions) await (await import('../../failover/fence.js')).assertMayWrite(cfg, `wal-push of ${basename(path)}`);
  const abs = resolve(path);
  await stat(abs).catch(() => {
    throw new FsdrError('FSDR_WAL_MISSING', `WAL file ${abs} does not exist`, { hint: "archive_command must pass %p, run from the data directory" });
  });
  if (cfg.archive.async) return asyncWalPush(cfg, abs);
  // Imported here: the async path answers from the spool and never needs the codec or storage.
  const [{ Repository }, { pushWalFile }, { enableYoungGc }, { SMALL_FOOTPRINT }] = await Promise.all([
    import('../../repository/repository.js'), import('./push-wal-file.js'), import('../../util/young-gc.js'), import('../../codec/object-codec.js'),
  ]);
  // A 16 MiB segment passes through buffers that V8 would otherwise keep until exit (60 MiB bound):
  // collected every MiB, through the codec's small buffers and window (about 8 MiB less, measured).
  enableYoungGc(1 << 20);
  const repo = await Repository.open(cfg, 'primary', { footprint: SMALL_FOOTPRINT });
  try {
    return await pushWalFile(repo, abs);
  } finally {
    await repo.close();
  }
}

function startPusher(cfg: Config, pgWalDir: string): void {
  const child = spawn(process.execPath, [FSDR_BIN, 'archive-push-async', '--pg-wal', pgWalDir, '--config', cfg.source], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
}

async function asyncWalPush(cfg: Config, abs: string): Promise<PushOutcome> {
  const spool = spoolDir(cfg.archive.spoolPath, cfg.source);
  const out = outDir(spool);
  const name = basename(abs);
  const ok = join(out, `${name}.ok`);
  const error = join(out, `${name}.error`);
  const deadline = Date.now() + cfg.archive.timeoutSeconds * 1000;
  let lastStart = 0;
  const walMtime = (await stat(abs)).mtimeMs;
  while (Date.now() < deadline) {
    // A marker older than the WAL file cannot be about this file (a stale spool): ignore it.
    const okAt = await stat(ok).then((s) => s.mtimeMs, () => undefined);
    if (okAt !== undefined && okAt >= walMtime - 1000) {
      await unlink(ok).catch(() => undefined);
      return 'archived';
    }
    if (okAt !== undefined) await unlink(ok).catch(() => undefined);
    const msg = await readFile(error, 'utf8').catch(() => undefined);
    if (msg !== undefined) {
      await unlink(error).catch(() => undefined);
      throw new FsdrError('FSDR_ASYNC_PUSH_FAILED', `async push of ${name} failed: ${msg}`);
    }
    if (Date.now() - lastStart > 2000 && !(await lockHeld(spool, 'archive-push'))) {
      startPusher(cfg, dirname(abs));
      lastStart = Date.now();
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new FsdrError('FSDR_ASYNC_PUSH_TIMEOUT', `async push of ${name} did not finish within ${cfg.archive.timeoutSeconds}s`, {
    hint: 'check the repository is reachable; PostgreSQL retries archive_command',
  });
}
