// A repository in a local directory. Objects appear whole: write a temp file, fsync, then
// link/rename into place and fsync the directory (link() refuses to replace, for ifAbsent).
import { link, mkdir, open, readdir, rename, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { StorageError } from '../../errors.js';
import { ObjectExistsError, ObjectNotFoundError } from '../errors.js';
import type { ObjectInfo, ObjectReader, PutOptions, Storage, StorageFeatures } from '../storage.js';

const TMP_SUFFIX = '.fsdr-tmp';

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class FsStorage implements Storage {
  readonly kind = 'fs';
  readonly features: StorageFeatures = { conditionalPut: true, versioning: false, objectLock: false, localHead: true };
  readonly description: string;

  constructor(private readonly root: string) {
    this.description = root;
  }

  private path(key: string): string {
    if (key.split('/').some((p) => p === '..' || p === '')) throw new StorageError(`invalid object key ${key}`);
    return join(this.root, ...key.split('/'));
  }

  private async openForRead(key: string): Promise<FileHandle> {
    const p = this.path(key);
    return open(p, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new ObjectNotFoundError(key, this.description);
      throw new StorageError(`cannot read ${p}: ${err.code}`, { cause: err });
    });
  }

  async reader(key: string): Promise<ObjectReader> {
    const fh = await this.openForRead(key);
    return {
      read: async (buf, offset, length) => (await fh.read(buf, offset, length, null)).bytesRead,
      close: () => fh.close(),
    };
  }

  async get(key: string): Promise<Readable> {
    const fh = await this.openForRead(key);
    // The stream owns the FileHandle and closes it at end or error.
    return fh.createReadStream({ highWaterMark: 256 * 1024, autoClose: true });
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<ObjectInfo> {
    const p = this.path(key);
    const dir = dirname(p);
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      body.destroy();
      throw new StorageError(`cannot create directory ${dir}: ${(err as NodeJS.ErrnoException).code}`, {
        cause: err,
        hint: 'check that the repository path exists and is writable by this user',
      });
    }
    // ifAbsent needs no check first: link() below refuses an existing name atomically.
    const tmp = `${p}.${randomBytes(6).toString('hex')}${TMP_SUFFIX}`;
    try {
      // Open first: expire may remove a directory it emptied between our mkdir and this open.
      const out = await open(tmp, 'wx').catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
        await mkdir(dir, { recursive: true });
        return open(tmp, 'wx');
      });
      await pipeline(body, out.createWriteStream());
      const fh = await open(tmp, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      if (opts.ifAbsent) {
        await link(tmp, p).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'EEXIST') throw new ObjectExistsError(key, this.description);
          throw err;
        });
        await unlink(tmp);
      } else {
        await rename(tmp, p);
      }
      await fsyncDir(dir);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      if (err instanceof ObjectExistsError || (err as { code?: string }).code?.startsWith?.('FSDR')) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code) throw new StorageError(`cannot write ${p}: ${code}`, { cause: err, hint: writeHint(code) });
      throw err;
    }
    const s = await stat(p);
    return { key, size: s.size, lastModified: s.mtime };
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const s = await stat(this.path(key));
      return s.isFile() ? { key, size: s.size, lastModified: s.mtime } : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StorageError(`cannot stat ${key}: ${(err as NodeJS.ErrnoException).code}`, { cause: err });
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // Walk only the directory that can hold the prefix, then filter by the full key.
    const slash = prefix.lastIndexOf('/');
    const base = slash >= 0 ? prefix.slice(0, slash) : '';
    const start = base ? this.path(base) : this.root;
    const keys: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw new StorageError(`cannot list ${dir}: ${(err as NodeJS.ErrnoException).code}`, { cause: err });
      }
      for (const e of entries) {
        const full = join(dir, e.name);
        const key = relative(this.root, full).split(sep).join('/');
        if (e.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(key + '/')) await walk(full);
        } else if (e.isFile() && !e.name.endsWith(TMP_SUFFIX) && key.startsWith(prefix)) {
          keys.push(key);
        }
      }
    };
    await walk(start);
    keys.sort();
    // Stat a window of keys at once: one after another, a listing of backups/ (every bundle and
    // map) took 33 ms of a restore's start on 130 files.
    const WINDOW = 64;
    for (let at = 0; at < keys.length; at += WINDOW) {
      for (const info of await Promise.all(keys.slice(at, at + WINDOW).map((k) => this.head(k)))) if (info) yield info;
    }
  }

  async delete(keys: string[]): Promise<void> {
    const dirs = new Set<string>();
    for (const key of keys) {
      const p = this.path(key);
      await unlink(p).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw new StorageError(`cannot delete ${key}: ${err.code}`, { cause: err });
      });
      dirs.add(dirname(p));
    }
    // Directories exist only to hold objects (there are none on S3): remove the ones left empty.
    for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
      for (let dir = d; dir.startsWith(this.root + sep) && dir !== this.root; dir = dirname(dir)) {
        try {
          await rmdir(dir);
        } catch {
          break; // not empty (or already gone): its parents are not empty either
        }
      }
    }
  }

  async *leftovers(): AsyncIterable<ObjectInfo> {
    const found: ObjectInfo[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const full = join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (e.isFile() && e.name.endsWith(TMP_SUFFIX)) {
          const st = await stat(full).catch(() => undefined);
          if (st) found.push({ key: relative(this.root, full).split(sep).join('/'), size: st.size, lastModified: st.mtime });
        }
      }
    };
    await walk(this.root);
    yield* found.sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  async removeLeftover(key: string): Promise<void> {
    // Only ever a temp file: this must never become a way to delete an object.
    if (!key.endsWith(TMP_SUFFIX)) throw new StorageError(`${key} is not a leftover temp file`);
    await unlink(this.path(key)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw new StorageError(`cannot remove ${key}: ${err.code}`, { cause: err });
    });
  }

  async close(): Promise<void> {}
}

/** What to do about a failed write, by errno: a full disk is the common one in a repository. */
function writeHint(code: string): string | undefined {
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'the repository filesystem is full: free space or grow it; fsdr expire removes what retention no longer keeps (nothing half-written was left behind)';
  if (code === 'EACCES' || code === 'EPERM') return 'the user running fsdr (postgres for archive_command) cannot write the repository directory';
  if (code === 'EROFS') return 'the repository filesystem is mounted read-only';
  return undefined;
}
