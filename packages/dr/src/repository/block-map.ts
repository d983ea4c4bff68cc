// Block maps of large relation files (block-level incremental, as pgBackRest's repo-block): a
// mapped piece records one digest per block, so the next incremental stores only the blocks whose
// digest changed and points at the earlier bundle (and offset) for every other block. Pure.
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

/** Whether a file of this size and path is stored with a block map (large relation files only). */
export function blockMapped(path: string, size: number, minBytes: number): boolean {
  return minBytes > 0 && size >= minBytes && isRelationFile(path);
}

export function blockDigest(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest().subarray(0, BLOCK_DIGEST_BYTES);
}

/** The digests of a piece, concatenated, as stored in the manifest (base64). */
export function formatDigests(digests: Buffer[]): string {
  return Buffer.concat(digests).toString('base64');
}

export function parseDigests(s: string): Buffer[] {
  const all = Buffer.from(s, 'base64');
  const out: Buffer[] = [];
  for (let i = 0; i < all.length; i += BLOCK_DIGEST_BYTES) out.push(all.subarray(i, i + BLOCK_DIGEST_BYTES));
  return out;
}

/** Where an earlier backup holds one block. */
export interface PriorBlock {
  digest: Buffer;
  length: number;
  backup: string;
  bundle: number;
  /** offset of the block in that bundle's plaintext */
  offset: number;
}

/**
 * The prior backup's blocks of one file, by block index. Undefined when the file has no usable
 * map there (not mapped, another block size, a piece not on a block boundary): copy it whole.
 */
export function priorBlocks(pieces: ManifestFile[], blockSize: number, priorBlockSize: number | undefined): Array<PriorBlock | undefined> | undefined {
  if (priorBlockSize !== blockSize || !pieces.length || pieces.some((p) => p.blocks === undefined)) return undefined;
  const out: Array<PriorBlock | undefined> = [];
  for (const p of pieces) {
    const start = p.fileOffset ?? 0;
    if (start % blockSize) return undefined;
    const digests = parseDigests(p.blocks!);
    if (digests.length !== Math.ceil(p.size / blockSize)) return undefined;
    digests.forEach((digest, i) => {
      out[start / blockSize + i] = { digest, length: Math.min(blockSize, p.size - i * blockSize), backup: p.backup, bundle: p.bundle, offset: p.offset + i * blockSize };
    });
  }
  return out;
}

/** What one piece of a mapped file became: runs of blocks, each stored now or referenced. */
export interface Extent {
  fileOffset: number;
  size: number;
  sha256: string;
  blocks: string;
  /** stored in this bundle at `offset`, or held by an earlier backup's bundle */
  backup?: string;
  bundle?: number;
  offset: number;
}

/**
 * Builds the extents of a mapped piece from its blocks in file order: consecutive blocks that are
 * new form one run at consecutive offsets of this bundle; consecutive reused blocks form one run
 * while they sit back to back in one earlier bundle. Each run's full SHA-256 is over the bytes
 * read now.
 */
export class ExtentBuilder {
  private readonly done: Extent[] = [];
  private cur: { e: Omit<Extent, 'sha256' | 'blocks'>; hash: Hash; digests: Buffer[] } | undefined;

  /** `prior` set: the block is the same as there (referenced); unset: stored at `bundleOffset`. */
  add(fileOffset: number, bytes: Buffer, digest: Buffer, prior: PriorBlock | undefined, bundleOffset: number): void {
    const c = this.cur;
    const continues = c !== undefined && c.e.fileOffset + c.e.size === fileOffset && (prior
      ? c.e.backup === prior.backup && c.e.bundle === prior.bundle && c.e.offset + c.e.size === prior.offset
      : c.e.backup === undefined && c.e.offset + c.e.size === bundleOffset);
    if (!continues) {
      this.close();
      this.cur = {
        e: prior ? { fileOffset, size: 0, backup: prior.backup, bundle: prior.bundle, offset: prior.offset } : { fileOffset, size: 0, offset: bundleOffset },
        hash: createHash('sha256'),
        digests: [],
      };
    }
    const run = this.cur!;
    run.e.size += bytes.length;
    run.hash.update(bytes);
    run.digests.push(digest);
  }

  private close(): void {
    if (!this.cur) return;
    this.done.push({ ...this.cur.e, sha256: this.cur.hash.digest('hex'), blocks: formatDigests(this.cur.digests) });
    this.cur = undefined;
  }

  finish(): Extent[] {
    this.close();
    return this.done;
  }
}

/** Whether a block read now may be taken from the prior backup instead of stored again. */
export function sameBlock(prior: PriorBlock | undefined, bytes: Buffer, digest: Buffer): prior is PriorBlock {
  return prior !== undefined && prior.length === bytes.length && prior.digest.equals(digest);
}
