// One unit of work of a backup: read a run of file pieces from the data directory, one after
// another, into a single repository object (a bundle), recording each piece's offset, size and sha256.
// A block-mapped piece of an incremental stores only its changed blocks (block-map.ts).
// Small files in bundles keep object counts (and S3 PUTs) low, as pgBackRest's repo-bundle does.
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ManifestBundle, ManifestFile } from '../../repository/manifest.js';
import type { ObjectStore } from '../../repository/object-store.js';
import { backupBundleKey } from '../../repository/layout.js';
import { blockDigest, ExtentBuilder, formatDigests, priorBlocks, sameBlock } from '../../repository/block-map.js';
import type { PgdataFile } from './walk-pgdata.js';

// 1 MiB reads: fewer syscalls and allocations per GB (allocation churn, not compression, is what
// costs most on small VMs).
const READ_CHUNK = 1024 * 1024;

/** A byte range of a file to copy (the whole file for all but the largest files). */
export interface FilePiece {
  file: PgdataFile;
  start: number;
  length: number;
  /** Block-mapped (a large relation file): bytes per block; the piece starts on a block boundary. */
  blockSize?: number;
  /**
   * With blockSize, in an incremental: the prior backup's pieces of this file over this range.
   * Blocks whose digest is unchanged there are referenced, not stored again.
   */
  prior?: ManifestFile[];
}

interface Cursor {
  backupId: string;
  index: number;
  /** bytes written to the bundle so far */
  offset: number;
  written: ManifestFile[];
  onBytes: (n: number) => void;
}

/** Read up to `length` bytes at `position`, as many reads as it takes (short only at end of file). */
async function readFull(fh: FileHandle, buf: Buffer, position: number): Promise<number> {
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await fh.read(buf, got, buf.length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

/** A whole piece, stored as read (its block digests recorded when it is block-mapped). */
async function* copyPiece(fh: FileHandle, p: FilePiece, c: Cursor) {
  const h = createHash('sha256');
  const digests: Buffer[] = [];
  const bs = p.blockSize;
  let size = 0;
  // Read no more than the size seen at listing: a file growing now is finished by WAL replay.
  while (size < p.length) {
    const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, p.length - size));
    // Mapped pieces are read whole-chunk (READ_CHUNK is a multiple of every block size), so every
    // block but the file's last is whole.
    const bytesRead = bs ? await readFull(fh, buf, p.start + size) : (await fh.read(buf, 0, buf.length, p.start + size)).bytesRead;
    if (bytesRead === 0) break;
    const chunk = bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    h.update(chunk);
    if (bs) for (let i = 0; i < chunk.length; i += bs) digests.push(blockDigest(chunk.subarray(i, i + bs)));
    size += bytesRead;
    c.onBytes(bytesRead);
    yield chunk;
    if (bs && bytesRead < buf.length) break;
  }
  const f = p.file;
  c.written.push({ path: f.path, size, ...(p.start ? { fileOffset: p.start } : {}), mode: f.mode, mtimeMs: f.mtimeMs, sha256: h.digest('hex'), backup: c.backupId, bundle: c.index, offset: c.offset, ...(bs ? { blocks: formatDigests(digests) } : {}) });
  c.offset += size;
}

/** A block-mapped piece against its prior map: only the blocks that changed go into the bundle. */
async function* deltaPiece(fh: FileHandle, p: FilePiece, c: Cursor) {
  const bs = p.blockSize!;
  const prior = priorBlocks(p.prior!, bs, bs) ?? [];
  const runs = new ExtentBuilder();
  let size = 0;
  while (size < p.length) {
    const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, p.length - size));
    const bytesRead = await readFull(fh, buf, p.start + size);
    if (bytesRead === 0) break;
    for (let i = 0; i < bytesRead; i += bs) {
      const block = buf.subarray(i, Math.min(i + bs, bytesRead));
      const at = p.start + size + i;
      const digest = blockDigest(block);
      const was = prior[at / bs];
      if (sameBlock(was, block, digest)) {
        runs.add(at, block, digest, was, 0);
      } else {
        runs.add(at, block, digest, undefined, c.offset);
        c.offset += block.length;
        yield block;
      }
    }
    size += bytesRead;
    c.onBytes(bytesRead);
    if (bytesRead < buf.length) break;
  }
  const f = p.file;
  const extents = runs.finish();
  // A file cut to nothing since the listing still has its (empty) entry, as a whole copy would.
  if (!extents.length) extents.push({ fileOffset: p.start, size: 0, sha256: createHash('sha256').digest('hex'), blocks: '', offset: c.offset });
  for (const e of extents) {
    c.written.push({
      path: f.path, size: e.size, ...(e.fileOffset ? { fileOffset: e.fileOffset } : {}), mode: f.mode, mtimeMs: f.mtimeMs, sha256: e.sha256,
      backup: e.backup ?? c.backupId, bundle: e.bundle ?? c.index, offset: e.offset, blocks: e.blocks,
    });
  }
}

/** Streams the pieces back to back; a file that vanished mid-backup is recorded as absent. */
async function* concatPieces(pieces: FilePiece[], c: Cursor) {
  for (const p of pieces) {
    let fh;
    try {
      fh = await open(p.file.abs, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // dropped during backup: WAL replay recreates state
      throw err;
    }
    try {
      yield* p.blockSize && p.prior ? deltaPiece(fh, p, c) : copyPiece(fh, p, c);
    } finally {
      await fh.close();
    }
  }
}

export async function writeBundle(
  objects: ObjectStore,
  backupId: string,
  index: number,
  pieces: FilePiece[],
  onBytes: (n: number) => void,
): Promise<{ bundle: ManifestBundle; files: ManifestFile[] }> {
  const c: Cursor = { backupId, index, offset: 0, written: [], onBytes };
  const source = Readable.from(concatPieces(pieces, c), { objectMode: false });
  // Each file's sha256 is in the manifest: the bundle itself needs no second digest.
  const r = await objects.put(backupBundleKey(backupId, index), source, { digest: false });
  return { bundle: { index, size: r.size, storedSize: r.storedSize, sha256: r.sha256 }, files: c.written };
}
