// One unit of work of a backup: read a run of file pieces from the data directory, one after
// another, into a single repository object (a bundle), recording each piece's offset, size and sha256.
// Small files in bundles keep object counts (and S3 PUTs) low, as pgBackRest's repo-bundle does.
import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import type { ChunkSource } from '../../codec/object-codec.js';
import type { ManifestBundle, ManifestFile } from '../../repository/manifest.js';
import type { ObjectStore } from '../../repository/object-store.js';
import { backupBundleKey } from '../../repository/layout.js';
import type { PgdataFile } from './walk-pgdata.js';

// 1 MiB reads (the encoder's buffer): few syscalls, and no allocation per chunk (allocation churn,
// not compression, is what costs most on small VMs, and its garbage is most of a worker's RSS).
const READ_CHUNK = 1024 * 1024;

/** A byte range of a file to copy (the whole file for all but the largest files). */
export interface FilePiece {
  file: PgdataFile;
  start: number;
  length: number;
}

/**
 * The pieces back to back, read into the encoder's buffer (no allocation per chunk); a file that
 * vanished mid-backup is recorded as absent. Each read stays within one piece.
 */
class PiecesSource implements ChunkSource {
  private i = 0;
  private fh?: FileHandle;
  private hash?: Hash;
  private size = 0;

  constructor(private readonly pieces: FilePiece[], private readonly done: (p: FilePiece, size: number, sha: string) => void, private readonly onBytes: (n: number) => void) {}

  async read(buf: Buffer): Promise<number> {
    while (this.i < this.pieces.length) {
      const p = this.pieces[this.i]!;
      if (!this.fh) {
        try {
          this.fh = await open(p.file.abs, 'r');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          this.i++; // dropped during backup: WAL replay recreates state
          continue;
        }
        this.hash = createHash('sha256');
        this.size = 0;
      }
      // Read no more than the size seen at listing: a file growing now is finished by WAL replay.
      const want = Math.min(buf.length, READ_CHUNK, p.length - this.size);
      const bytesRead = want > 0 ? (await this.fh.read(buf, 0, want, p.start + this.size)).bytesRead : 0;
      if (bytesRead > 0) {
        const chunk = buf.subarray(0, bytesRead);
        this.hash!.update(chunk);
        this.size += bytesRead;
        this.onBytes(bytesRead);
        return bytesRead;
      }
      await this.closeFile();
      this.done(p, this.size, this.hash!.digest('hex'));
      this.i++;
    }
    return 0;
  }

  private async closeFile(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }

  close(): Promise<void> {
    return this.closeFile();
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
  const source = new PiecesSource(pieces, (p, size, sha256) => {
    const f = p.file;
    written.push({ path: f.path, size, ...(p.start ? { fileOffset: p.start } : {}), mode: f.mode, mtimeMs: f.mtimeMs, sha256, backup: backupId, bundle: index, offset });
    offset += size;
  }, onBytes);
  // Each file's sha256 is in the manifest: the bundle itself needs no second digest.
  const r = await objects.putFrom(backupBundleKey(backupId, index), source, { digest: false });
  return { bundle: { index, size: r.size, storedSize: r.storedSize, sha256: r.sha256 }, files: written };
}
