// Rebuilds a data directory from a manifest: directories first, then every bundle decoded once,
// in parallel, each file's bytes written and checked against its sha256. Tablespace files go to
// <pgdata>_tblspc/<oid>, which the rewritten tablespace_map points PostgreSQL at.
import { constants } from 'node:fs';
import { mkdir, open, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readBundleFiles } from '../../repository/bundle-reader.js';
import { FsdrError } from '../../errors.js';
import { backupBundleKey } from '../../repository/layout.js';
import type { BackupManifest, ManifestFile } from '../../repository/manifest.js';
import type { ObjectStore } from '../../repository/object-store.js';
import type { Config } from '../../config/load.js';
import { WorkerPool } from '../../util/worker-pool.js';

/** Where a restore puts the tablespaces: beside the data directory, one folder per tablespace oid. */
export function tablespaceRoot(pgdata: string): string {
  return `${pgdata}_tblspc`;
}

export function tablespaceDir(pgdata: string, oid: string): string {
  return `${tablespaceRoot(pgdata)}/${oid}`;
}

function destPath(pgdata: string, rel: string): string {
  const m = /^pg_tblspc\/(\d+)(\/.*)?$/.exec(rel);
  if (m) return tablespaceDir(pgdata, m[1]!) + (m[2] ?? '');
  return join(pgdata, rel);
}

export async function extractBundle(objects: ObjectStore, key: string, entries: ManifestFile[], pgdata: string, onBytes: (n: number) => void): Promise<void> {
  let fh: FileHandle | undefined;
  let position = 0;
  // Decoded pieces are small; write them in batches of about 1 MiB (one positioned writev each).
  let batch: Buffer[] = [];
  let batched = 0;
  const flush = async () => {
    if (!batched) return;
    const { bytesWritten } = await fh!.writev(batch, position);
    if (bytesWritten !== batched) throw new FsdrError('FSDR_SHORT_WRITE', `short write to the restored data directory (${bytesWritten} of ${batched} bytes)`, { hint: 'check free space on the target filesystem' });
    position += batched;
    onBytes(batched);
    batch = [];
    batched = 0;
  };
  try {
    await readBundleFiles(key, await objects.open(key), entries, {
      begin: async (f) => {
        // Pieces of one large file are written by several workers at their own offsets: create
        // without truncating (the data directory is new and empty; restore checked that).
        fh = await open(destPath(pgdata, f.path), constants.O_WRONLY | constants.O_CREAT, f.mode & 0o777);
        position = f.fileOffset ?? 0;
      },
      data: async (_f, bytes) => {
        batch.push(bytes);
        batched += bytes.length;
        if (batched >= 1 << 20) await flush();
      },
      end: async () => {
        await flush();
        await fh!.close();
        fh = undefined;
      },
    });
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

export async function writeDataDirectory(source: { config: Config; repository: string; asOf?: string }, m: BackupManifest, pgdata: string, processes: number, onBytes: (n: number) => void): Promise<void> {
  for (const t of m.tablespaces) await mkdir(tablespaceDir(pgdata, t.oid), { recursive: true, mode: 0o700 });
  for (const d of m.directories) await mkdir(destPath(pgdata, d.path), { recursive: true, mode: d.mode & 0o777 });
  const byBundle = new Map<string, { key: string; entries: ManifestFile[] }>();
  for (const f of m.files) {
    const key = backupBundleKey(f.backup, f.bundle);
    const g = byBundle.get(key) ?? { key, entries: [] };
    g.entries.push(f);
    byBundle.set(key, g);
  }
  const groups = [...byBundle.values()];
  for (const g of groups) {
    g.entries.sort((a, b) => a.offset - b.offset);
    for (const e of g.entries) await mkdir(dirname(destPath(pgdata, e.path)), { recursive: true, mode: 0o700 });
  }
  // Bundles are decoded in worker threads (decrypt, decompress and hash run on every core).
  const pool = new WorkerPool<{ key: string; entries: ManifestFile[]; pgdata: string }, void>(
    new URL('./extract-worker.js', import.meta.url), source, Math.min(processes, groups.length),
  );
  try {
    await Promise.all(groups.map((g) => pool.run({ key: g.key, entries: g.entries, pgdata }, onBytes)));
  } finally {
    await pool.close();
  }
  await writeFile(join(pgdata, 'backup_label'), m.backupLabel, { mode: 0o600 });
  if (m.tablespaceMap.trim()) {
    const map = m.tablespaces.map((t) => `${t.oid} ${tablespaceDir(pgdata, t.oid)}`).join('\n') + '\n';
    await writeFile(join(pgdata, 'tablespace_map'), map, { mode: 0o600 });
  }
}
