// Block maps of large relation files (block-level incremental, as pgBackRest's repo-block): a
// mapped piece records one digest per block, so the next incremental stores only the blocks whose
// digest changed and points at the earlier bundle (and offset) for every other block. The digests
// are kept in one map object per backup task (layout.backupBlockMapKey), not in the manifest;
// manifests written before that carry them inline (`blocks`). Pure: block-map-reader.ts loads them.
import { createHash, type Hash } from 'node:crypto';
import type { ManifestFile } from './manifest.js';

/**
 * Bytes of one block digest: SHA-256 truncated to 128 bits. It only decides "changed or not";
 * every piece also carries the full SHA-256 of the bytes actually read, which restore and verify
 * check, so even a digest collision could never restore a wrong block silently — it would fail
 * the piece's checksum loudly.
 */
export const BLOCK_DIGEST_BYTES = 16;

/** Relation segment files: main fork and its fsm/vm forks, in base/, global/ and tablespaces. */
const RELATION = /^(?:base\/\d+|global|pg_tblspc\/\d+\/[^/]+\/\d+)\/\d+(?:_(?:fsm|vm))?(?:\.\d+)?$/;

export function isRelationFile(path: string): boolean {
  return RELATION.test(path);
}

/** Whether a manifest piece has block digests: a map pointer, or inline in an older manifest. */
export function hasBlockMap(p: ManifestFile): boolean {
  return p.blockMap !== undefined || p.blocks !== undefined;
}

/** Whether a file of this size and path is stored with a block map (large relation files only). */
export function blockMapped(path: string, size: number, minBytes: number): boolean {
  return minBytes > 0 && size >= minBytes && isRelationFile(path);
}

export function blockDigest(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest().subarray(0, BLOCK_DIGEST_BYTES);
}

/**
 * Block digests back to back in one buffer. A piece of 64 MiB has 8192 blocks: one Buffer per
 * digest was 8192 objects that lived as long as the piece, long enough to reach V8's old space,
 * so every backup worker carried megabytes of them until a full collection.
 */
export class DigestList {
  private buf: Buffer;
  /** digests held */
  count = 0;

  constructor(capacity = 64) {
    this.buf = Buffer.allocUnsafe(Math.max(1, capacity) * BLOCK_DIGEST_BYTES);
  }

  push(digest: Buffer): void {
    const at = this.count * BLOCK_DIGEST_BYTES;
    if (at + BLOCK_DIGEST_BYTES > this.buf.length) {
      const grown = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(grown, 0, 0, at);
      this.buf = grown;
    }
    digest.copy(this.buf, at, 0, BLOCK_DIGEST_BYTES);
    this.count++;
  }

  /** The digests held, back to back (a view: valid until the next push). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.count * BLOCK_DIGEST_BYTES);
  }
}

/** Where an earlier backup holds one block. */
export interface PriorBlock {
  length: number;
  backup: string;
  bundle: number;
  /** offset of the block in that bundle's plaintext */
  offset: number;
}

/** The digests an older manifest carries inline (undefined for a piece that points at a map object). */
export function inlineDigests(p: ManifestFile): Buffer | undefined {
  return p.blocks === undefined ? undefined : Buffer.from(p.blocks, 'base64');
}

/**
 * The prior backup's blocks of one file: its pieces in file order, each with its digests in one
 * buffer, looked up by block index (no object per block).
 */
export class PriorMap {
  private constructor(
    private readonly pieces: ManifestFile[],
    /** first block index of each piece */
    private readonly firsts: number[],
    private readonly digests: Buffer[],
    private readonly blockSize: number,
  ) {}

  /**
   * Undefined when the file has no usable map there (not mapped, another block size, a piece not
   * on a block boundary, a digest count that does not fit the size): copy it whole.
   */
  static of(pieces: ManifestFile[], blockSize: number, priorBlockSize: number | undefined, digestsOf: (p: ManifestFile, count: number) => Buffer | undefined = inlineDigests): PriorMap | undefined {
    if (priorBlockSize !== blockSize || !pieces.length || pieces.some((p) => !hasBlockMap(p))) return undefined;
    const sorted = [...pieces].sort((a, b) => (a.fileOffset ?? 0) - (b.fileOffset ?? 0));
    const firsts: number[] = [];
    const digests: Buffer[] = [];
    for (const p of sorted) {
      const start = p.fileOffset ?? 0;
      if (start % blockSize) return undefined;
      const count = Math.ceil(p.size / blockSize);
      const d = digestsOf(p, count);
      if (!d || d.length !== count * BLOCK_DIGEST_BYTES) return undefined;
      firsts.push(start / blockSize);
      digests.push(d);
    }
    return new PriorMap(sorted, firsts, digests, blockSize);
  }

  /** Where block `index` was, or undefined if no prior piece holds it. */
  at(index: number): PriorBlock | undefined {
    const k = this.pieceOf(index);
    if (k < 0) return undefined;
    const p = this.pieces[k]!;
    const i = index - this.firsts[k]!;
    return { length: Math.min(this.blockSize, p.size - i * this.blockSize), backup: p.backup, bundle: p.bundle, offset: p.offset + i * this.blockSize };
  }

  /** The prior copy of block `index` when it is the same as `bytes` (whose digest is `digest`). */
  same(index: number, bytes: Buffer, digest: Buffer): PriorBlock | undefined {
    const k = this.pieceOf(index);
    if (k < 0) return undefined;
    const i = index - this.firsts[k]!;
    const p = this.pieces[k]!;
    if (Math.min(this.blockSize, p.size - i * this.blockSize) !== bytes.length) return undefined;
    if (this.digests[k]!.compare(digest, 0, BLOCK_DIGEST_BYTES, i * BLOCK_DIGEST_BYTES, (i + 1) * BLOCK_DIGEST_BYTES) !== 0) return undefined;
    return this.at(index);
  }

  private pieceOf(index: number): number {
    let lo = 0;
    let hi = this.firsts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const first = this.firsts[mid]!;
      if (index < first) hi = mid - 1;
      else if (index >= first + this.digests[mid]!.length / BLOCK_DIGEST_BYTES) lo = mid + 1;
      else return mid;
    }
    return -1;
  }
}

/** What one piece of a mapped file became: runs of blocks, each stored now or referenced. */
export interface Extent {
  fileOffset: number;
  size: number;
  sha256: string;
  /** the run's first digest in the task's map (its digests follow, one per block) */
  first: number;
  /** stored in this bundle at `offset`, or held by an earlier backup's bundle */
  backup?: string;
  bundle?: number;
  offset: number;
}

/**
 * Builds the extents of a mapped piece from its blocks in file order: consecutive blocks that are
 * new form one run at consecutive offsets of this bundle; consecutive reused blocks form one run
 * while they sit back to back in one earlier bundle. Each run's full SHA-256 is over the bytes
 * read now; every block's digest goes to the task's map, in file order.
 */
export class ExtentBuilder {
  private readonly done: Extent[] = [];
  private cur: { e: Omit<Extent, 'sha256'>; hash: Hash } | undefined;

  constructor(private readonly map: DigestList) {}

  /** `prior` set: the block is the same as there (referenced); unset: stored at `bundleOffset`. */
  add(fileOffset: number, bytes: Buffer, digest: Buffer, prior: PriorBlock | undefined, bundleOffset: number): void {
    const c = this.cur;
    const continues = c !== undefined && c.e.fileOffset + c.e.size === fileOffset && (prior
      ? c.e.backup === prior.backup && c.e.bundle === prior.bundle && c.e.offset + c.e.size === prior.offset
      : c.e.backup === undefined && c.e.offset + c.e.size === bundleOffset);
    if (!continues) {
      this.close();
      const first = this.map.count;
      this.cur = {
        e: prior ? { fileOffset, size: 0, first, backup: prior.backup, bundle: prior.bundle, offset: prior.offset } : { fileOffset, size: 0, first, offset: bundleOffset },
        hash: createHash('sha256'),
      };
    }
    const run = this.cur!;
    run.e.size += bytes.length;
    run.hash.update(bytes);
    this.map.push(digest);
  }

  private close(): void {
    if (!this.cur) return;
    this.done.push({ ...this.cur.e, sha256: this.cur.hash.digest('hex') });
    this.cur = undefined;
  }

  finish(): Extent[] {
    this.close();
    return this.done;
  }
}
