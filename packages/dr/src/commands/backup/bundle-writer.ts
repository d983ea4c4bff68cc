// One unit of work of a backup: read a run of file pieces from the data directory, one after
// another, into a single repository object (a bundle), recording each piece's offset, size and sha256.
// Small files in bundles keep object counts (and S3 PUTs) low, as pgBackRest's repo-bundle does.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ManifestBundle, ManifestFile } from '../../repository/manifest.js';
import type { ObjectStore } from '../../repository/object-store.js';
import { backupBundleKey } from '../../repository/layout.js';
import type { PgdataFile } from './walk-pgdata.js';

// 1 MiB reads: fewer syscalls and allocations per GB (allocation churn, not compression, is what
// costs most on small VMs).
const READ_CHUNK = 1024 * 1024;

/** A byte range of a file to copy (the whole file for all but the largest files). */
export interface FilePiece {
  file: PgdataFile;
  start: number;
  length: number;
}

/** Streams the pieces back to back; a file that vanished mid-backup is recorded as absent. */
async function* concatPieces(pieces: FilePiece[], done: (p: FilePiece, size: number, sha: string) => void, onBytes: (n: number) => void) {
  for (const p of pieces) {
    const f = p.file;
    let fh;
    try {
      fh = await open(f.abs, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // dropped during backup: WAL replay recreates state
      throw err;
    }
    const h = createHash('sha256');
    let size = 0;
    try {
      // Read no more than the size seen at listing: a file growing now is finished by WAL replay.
      while (size < p.length) {
        const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, p.length - size));
        const { bytesRead } = await fh.read(buf, 0, buf.length, p.start + size);
        if (bytesRead === 0) break;
        const chunk = bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
        h.update(chunk);
        size += bytesRead;
        onBytes(bytesRead);
        yield chunk;
      }
    } finally {
      await fh.close();
    }
    done(p, size, h.digest('hex'));
  }
}

export async function writeBundle(
  objects: ObjectStore,
  backupId: string,
  index: number,
  pieces: FilePiece[],
  onBytes: (n: number) => void,
): Promise<{ bundle: ManifestBundle; files: ManifestFile[] }> {
  const written: ManifestFile[] = [];
  let offset = 0;
  const source = Readable.from(concatPieces(pieces, (p, size, sha256) => {
    const f = p.file;
    written.push({ path: f.path, size, ...(p.start ? { fileOffset: p.start } : {}), mode: f.mode, mtimeMs: f.mtimeMs, sha256, backup: backupId, bundle: index, offset });
    offset += size;
  }, onBytes), { objectMode: false });
  // Each file's sha256 is in the manifest: the bundle itself needs no second digest.
  const r = await objects.put(backupBundleKey(backupId, index), source, { digest: false });
  return { bundle: { index, size: r.size, storedSize: r.storedSize, sha256: r.sha256 }, files: written };
}
