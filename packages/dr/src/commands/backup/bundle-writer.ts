// One unit of work of a backup: read a run of file pieces from the data directory, one after
// another, into a single repository object (a bundle), recording each piece's offset, size and sha256.
// A block-mapped piece of an incremental stores only its changed blocks (block-map.ts); the digests
// of every mapped piece the task lists go to one map object beside the bundle, not the manifest.
// Small files in bundles keep object counts (and S3 PUTs) low, as pgBackRest's repo-bundle does.
import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import type { ChunkSource } from '../../codec/object-codec.js';
import type { ManifestBundle, ManifestFile } from '../../repository/manifest.js';
import type { ObjectStore } from '../../repository/object-store.js';
import { backupBlockMapKey, backupBundleKey } from '../../repository/layout.js';
import { BlockMapReader } from '../../repository/block-map-reader.js';
import { blockDigest, DigestList, ExtentBuilder, PriorMap } from '../../repository/block-map.js';
import type { PgdataFile } from './walk-pgdata.js';

// Reads of at most 1 MiB, straight into the encoder's buffer (256 KiB in the workers: the codec's
// SMALL_FOOTPRINT): no allocation per chunk (allocation churn, not compression, is what costs most
// on small VMs, and its garbage is most of a worker's RSS).
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

/** Read until `want` bytes are in buf (short only at end of file). */
async function readFull(fh: FileHandle, buf: Buffer, want: number, position: number): Promise<number> {
  let got = 0;
  while (got < want) {
    const { bytesRead } = await fh.read(buf, got, want - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

/** The piece being read: whole (hash and, when mapped, block digests) or as a delta (extents). */
interface Open {
  p: FilePiece;
  fh: FileHandle;
  /** bytes of the piece read so far */
  size: number;
  eof: boolean;
  hash: Hash;
  /** a mapped piece read whole: its first digest in the task's map */
  first?: number;
  delta?: { prior: PriorMap | undefined; runs: ExtentBuilder };
}

/**
 * The pieces back to back, read into the encoder's buffer (no allocation per chunk); a file that
 * vanished mid-backup is recorded as absent. Each read stays within one piece. A delta piece reads
 * whole blocks and moves the changed ones to the front of the buffer: only they are stored.
 */
class PiecesSource implements ChunkSource {
  private i = 0;
  private cur?: Open;
  /** bytes handed to the encoder so far: the next piece's offset in the bundle */
  offset = 0;
  readonly written: ManifestFile[] = [];
  /** the digests of every mapped piece listed, in order: the task's map object */
  readonly map = new DigestList();
  /** prior block maps that were missing or damaged, and the file each cost a whole copy of */
  readonly unusableMaps: Array<{ key: string; path: string }> = [];

  constructor(private readonly pieces: FilePiece[], private readonly backupId: string, private readonly index: number, private readonly onBytes: (n: number) => void, private readonly maps: BlockMapReader) {}

  async read(buf: Buffer): Promise<number> {
    while (this.i < this.pieces.length) {
      const c = this.cur ?? (await this.openNext());
      if (!c) continue;
      const n = c.eof ? 0 : c.delta ? await this.readDelta(c, buf) : await this.readWhole(c, buf);
      if (n > 0) return n;
      if (c.eof) await this.finishPiece(c);
    }
    return 0;
  }

  private async openNext(): Promise<Open | undefined> {
    const p = this.pieces[this.i]!;
    let fh: FileHandle;
    try {
      fh = await open(p.file.abs, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.i++; // dropped during backup: WAL replay recreates state
      return undefined;
    }
    const bs = p.blockSize;
    let delta: Open['delta'];
    if (bs && p.prior) {
      // The main thread says so (a worker loads no logger): the file is copied whole instead.
      for (const key of await this.maps.load(p.prior)) this.unusableMaps.push({ key, path: p.file.path });
      delta = { prior: PriorMap.of(p.prior, bs, bs, this.maps.digestsOf), runs: new ExtentBuilder(this.map) };
      this.maps.clear();
    }
    this.cur = { p, fh, size: 0, eof: false, hash: createHash('sha256'), ...(bs && !delta ? { first: this.map.count } : {}), delta };
    return this.cur;
  }

  /** How much to read next: within the piece (the size seen at listing: WAL replay finishes a growing file), whole blocks when mapped. */
  private want(c: Open, buf: Buffer): number {
    const bs = c.p.blockSize;
    const room = Math.min(buf.length, READ_CHUNK, c.p.length - c.size);
    if (!bs) return room;
    if (buf.length < bs) throw new Error(`encoder buffer of ${buf.length} bytes is smaller than the block size ${bs}`);
    // Whole blocks only, but all of what is left when that is less than a block (the file's end).
    return room < bs ? room : room - (room % bs);
  }

  private async readWhole(c: Open, buf: Buffer): Promise<number> {
    const want = this.want(c, buf);
    const bs = c.p.blockSize;
    const n = want <= 0 ? 0 : bs ? await readFull(c.fh, buf, want, c.p.start + c.size) : (await c.fh.read(buf, 0, want, c.p.start + c.size)).bytesRead;
    if (n === 0 || (bs && n < want) || c.size + n >= c.p.length) c.eof = true;
    if (n === 0) return 0;
    const chunk = buf.subarray(0, n);
    c.hash.update(chunk);
    if (c.first !== undefined) for (let i = 0; i < n; i += bs!) this.map.push(blockDigest(chunk.subarray(i, i + bs!)));
    c.size += n;
    this.onBytes(n);
    this.offset += n;
    return n;
  }

  /** Reads blocks until at least one changed (returned at the front of buf) or the piece ends. */
  private async readDelta(c: Open, buf: Buffer): Promise<number> {
    const bs = c.p.blockSize!;
    const d = c.delta!;
    while (!c.eof) {
      const want = this.want(c, buf);
      const n = want <= 0 ? 0 : await readFull(c.fh, buf, want, c.p.start + c.size);
      if (n === 0 || n < want || c.size + n >= c.p.length) c.eof = true;
      let out = 0;
      for (let i = 0; i < n; i += bs) {
        const block = buf.subarray(i, Math.min(i + bs, n));
        const at = c.p.start + c.size + i;
        const digest = blockDigest(block);
        const was = d.prior?.same(at / bs, block, digest);
        if (was) {
          d.runs.add(at, block, digest, was, 0);
        } else {
          // Digested before it moves: the block goes to the front, over blocks already handled.
          d.runs.add(at, block, digest, undefined, this.offset + out);
          if (out !== i) buf.copyWithin(out, i, i + block.length);
          out += block.length;
        }
      }
      c.size += n;
      this.onBytes(n);
      this.offset += out;
      if (out > 0) return out;
    }
    return 0;
  }

  private async finishPiece(c: Open): Promise<void> {
    this.cur = undefined;
    this.i++;
    await c.fh.close();
    const { p } = c;
    const f = p.file;
    if (!c.delta) {
      const start = this.offset - c.size;
      this.written.push({ path: f.path, size: c.size, ...(p.start ? { fileOffset: p.start } : {}), mode: f.mode, mtimeMs: f.mtimeMs, sha256: c.hash.digest('hex'), backup: this.backupId, bundle: this.index, offset: start, ...(c.first !== undefined ? { blockMap: this.mapAt(c.first) } : {}) });
      return;
    }
    const extents = c.delta.runs.finish();
    // A file cut to nothing since the listing still has its (empty) entry, as a whole copy would.
    if (!extents.length) extents.push({ fileOffset: p.start, size: 0, sha256: createHash('sha256').digest('hex'), first: this.map.count, offset: this.offset });
    for (const e of extents) {
      this.written.push({
        path: f.path, size: e.size, ...(e.fileOffset ? { fileOffset: e.fileOffset } : {}), mode: f.mode, mtimeMs: f.mtimeMs, sha256: e.sha256,
        backup: e.backup ?? this.backupId, bundle: e.bundle ?? this.index, offset: e.offset, blockMap: this.mapAt(e.first),
      });
    }
  }

  private mapAt(first: number): NonNullable<ManifestFile['blockMap']> {
    return { backup: this.backupId, bundle: this.index, first };
  }

  async close(): Promise<void> {
    const c = this.cur;
    this.cur = undefined;
    await c?.fh.close();
  }
}

export async function writeBundle(
  objects: ObjectStore,
  backupId: string,
  index: number,
  pieces: FilePiece[],
  onBytes: (n: number) => void,
): Promise<{ bundle: ManifestBundle; files: ManifestFile[]; unusableMaps: Array<{ key: string; path: string }> }> {
  const source = new PiecesSource(pieces, backupId, index, onBytes, new BlockMapReader(objects));
  // Each file's sha256 is in the manifest: the bundle itself needs no second digest.
  const r = await objects.putFrom(backupBundleKey(backupId, index), source, { digest: false });
  // Every piece that points at the map needs it, even one of no blocks (a file cut to nothing).
  if (source.written.some((f) => f.blockMap)) await objects.putBuffer(backupBlockMapKey(backupId, index), source.map.bytes());
  return { bundle: { index, size: r.size, storedSize: r.storedSize, sha256: r.sha256 }, files: source.written, unusableMaps: source.unusableMaps };
}
