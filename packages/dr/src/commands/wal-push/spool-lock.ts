// One background pusher (or prefetcher) per spool, held by a listening unix-domain socket in the
// spool directory. The kernel closes it when its holder dies, however it dies, so a crash leaves
// at worst a socket file that refuses connections: no pid to outlive its process and be reused.
// bind() fails while the file exists, so taking a lock is atomic; a connect that succeeds means a
// live holder (the kernel completes it even when that process is busy).
import { chmodSync, closeSync, mkdirSync, openSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { FsdrError } from '../../errors.js';

export type SpoolLockName = 'archive-push' | 'archive-get';

/** sun_path holds 108 bytes with its NUL; longer paths are silently truncated by libuv. */
const MAX_SOCKET_PATH = 100;
/** A takeover guard older than this was left by a crash inside the (microsecond) takeover. */
const GUARD_STALE_MS = 10_000;

export function lockSocketPath(spool: string, name: SpoolLockName): string {
  return join(spool, `${name}.sock`);
}

/** A socket address for a path, and what to close once the address is no longer used. */
interface Address {
  address: string;
  close(): void;
}

/**
 * The path itself, or when it is too long for a socket address, the same file reached through an
 * open descriptor of its directory (Linux /proc). A listener keeps that descriptor open until it
 * closes, because closing the server unlinks the socket by the address it was bound to.
 */
function addressOf(spool: string, path: string): Address {
  if (Buffer.byteLength(path) <= MAX_SOCKET_PATH) return { address: path, close: () => undefined };
  const fd = openSync(spool, 'r');
  try {
    statSync(`/proc/self/fd/${fd}`);
  } catch {
    closeSync(fd);
    throw new FsdrError('FSDR_SPOOL_PATH', `spool directory ${spool} is too long for a lock socket (${Buffer.byteLength(path)} bytes)`, { hint: 'set archive.spoolPath to a shorter path' });
  }
  return { address: `/proc/self/fd/${fd}/${path.slice(spool.length + 1)}`, close: () => closeSync(fd) };
}

type Probe = 'alive' | 'dead' | 'absent';

function probe(address: string): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const c = createConnection(address);
    c.once('connect', () => {
      c.destroy();
      resolve('alive');
    });
    c.once('error', (err: NodeJS.ErrnoException) => {
      c.destroy();
      if (err.code === 'ECONNREFUSED') resolve('dead');
      else if (err.code === 'ENOENT') resolve('absent');
      // A full backlog, or a holder that has not opened its socket to us yet: someone listens.
      else if (err.code === 'EAGAIN' || err.code === 'EACCES') resolve('alive');
      else reject(new FsdrError('FSDR_SPOOL_LOCK', `cannot check the spool lock ${address}: ${err.code ?? err.message}`, { cause: err }));
    });
  });
}

function listen(address: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    // Connections are only probes: closing them at once is the whole protocol.
    const server = createServer((c) => c.destroy());
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err)));
    server.listen(address, () => {
      server.unref(); // a lock never keeps its process alive by itself
      resolve(server);
    });
  });
}

/**
 * Unlinks a dead holder's socket. Two contenders may both find it dead: only one may unlink it,
 * and only after checking again under the guard, or it could remove the socket the other has
 * just bound. A guard is held for one connect; an old one was left by a crash and is removed.
 */
async function takeOver(path: string, address: string): Promise<void> {
  const guard = `${path}.takeover`;
  try {
    mkdirSync(guard);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    try {
      if (Date.now() - statSync(guard).mtimeMs > GUARD_STALE_MS) rmdirSync(guard);
    } catch {
      /* removed meanwhile */
    }
    return;
  }
  try {
    if ((await probe(address)) === 'dead') unlinkSync(path);
  } catch {
    /* gone already */
  } finally {
    rmdirSync(guard);
  }
}

export class SpoolLock {
  private constructor(private readonly server: Server, private readonly addr: Address) {}

  /** The lock, or undefined when a live process holds it (or is taking it over right now). */
  static async acquire(spool: string, name: SpoolLockName): Promise<SpoolLock | undefined> {
    const path = lockSocketPath(spool, name);
    // The pid file of earlier versions: its pid may live on in an unrelated process.
    try {
      unlinkSync(join(spool, `${name}.lock`));
    } catch {
      /* none */
    }
    for (let i = 0; i < 3; i++) {
      const addr = addressOf(spool, path);
      let held = false;
      try {
        const server = await listen(addr.address);
        if (server) {
          // The spool directory (0700) is the access control; the socket itself must accept a
          // probe from root or from the PostgreSQL user, whichever holds it.
          try {
            chmodSync(path, 0o666);
          } catch {
            /* the probe then reads EACCES as alive, which is true */
          }
          held = true;
          return new SpoolLock(server, addr);
        }
        const state = await probe(addr.address);
        if (state === 'alive') return undefined;
        if (state === 'dead') await takeOver(path, addr.address);
      } finally {
        if (!held) addr.close();
      }
    }
    return undefined;
  }

  /** Closing the server unlinks its socket file, before anyone else can bind that path. */
  async release(): Promise<void> {
    await new Promise<void>((r) => this.server.close(() => r()));
    this.addr.close();
  }
}

/** Whether a live process holds the lock. */
export async function lockHeld(spool: string, name: SpoolLockName): Promise<boolean> {
  let addr: Address;
  try {
    addr = addressOf(spool, lockSocketPath(spool, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false; // no spool yet
    throw err;
  }
  try {
    return (await probe(addr.address)) === 'alive';
  } finally {
    addr.close();
  }
}
