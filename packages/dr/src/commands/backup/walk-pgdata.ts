// Lists what a physical backup copies from the data directory: files (with size, mode, mtime),
// directories to recreate, and tablespaces (pg_tblspc/<oid> links, followed). Applies the
// documented exclusions (postgres/exclusions.ts).
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isEmptiedDir, isSkippedFile, isUnloggedNonInit } from '../../postgres/exclusions.js';

export interface PgdataFile {
  path: string;
  abs: string;
  size: number;
  mode: number;
  mtimeMs: number;
}

export interface PgdataListing {
  files: PgdataFile[];
  directories: Array<{ path: string; mode: number }>;
  tablespaces: Array<{ oid: string; location: string }>;
}

async function entries(dir: string) {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    // A directory dropped during the backup (DROP DATABASE) is replayed from WAL at restore.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export async function walkPgdata(pgdata: string): Promise<PgdataListing> {
  const out: PgdataListing = { files: [], directories: [], tablespaces: [] };
  const raw: PgdataFile[] = [];
  const initForks = new Set<string>();

  const walk = async (absDir: string, relDir: string): Promise<void> => {
    for (const e of await entries(absDir)) {
      const rel = relDir ? `${relDir}/${e.name}` : e.name;
      const abs = join(absDir, e.name);
      if (relDir === 'pg_tblspc' && e.isSymbolicLink()) {
        const location = await readlink(abs);
        out.tablespaces.push({ oid: e.name, location });
        out.directories.push({ path: rel, mode: (await stat(abs)).mode & 0o7777 });
        await walk(abs, rel);
        continue;
      }
      // A link elsewhere in the data directory (pg_wal on another disk via initdb --waldir, a
      // config file linked from /etc) is backed up as what it points to and restored as such.
      const linked = e.isSymbolicLink() ? await stat(abs).catch(() => undefined) : undefined;
      if (e.isDirectory() || linked?.isDirectory()) {
        const s = linked ?? (await lstat(abs).catch(() => undefined));
        if (!s) continue;
        out.directories.push({ path: rel, mode: s.mode & 0o7777 });
        if (isEmptiedDir(rel)) continue;
        await walk(abs, rel);
      } else if (e.isFile() || linked?.isFile()) {
        if (isSkippedFile(rel)) continue;
        const s = linked ?? (await lstat(abs).catch(() => undefined));
        if (!s) continue;
        if (e.name.endsWith('_init')) initForks.add(`${relDir}/${e.name.slice(0, -5)}`);
        raw.push({ path: rel, abs, size: s.size, mode: s.mode & 0o7777, mtimeMs: s.mtimeMs });
      }
    }
  };
  await walk(pgdata, '');
  out.files = raw.filter((f) => !f.path.endsWith('_init') ? !isUnloggedNonInit(f.path, initForks) : true);
  out.files.sort((a, b) => (a.path < b.path ? -1 : 1));
  return out;
}
