// The plan of a backup, made on the main thread before and while the workers copy: which files
// are carried over from the prior backup unchanged, how the rest is cut into pieces and packed
// into bundles, which pieces are block-mapped, which prior pieces each compares against (handed
// out packed, and given back as tasks go), and what the finished manifest adds up to. Pure but
// for the packed records it reads.
import { backupBundleKey } from '../../repository/layout.js';
import { blockMapped } from '../../repository/block-map.js';
import { PackedPieces, type PackedData } from '../../repository/packed-pieces.js';
import type { FilePiece } from './bundle-writer.js';
import type { PgdataFile } from './walk-pgdata.js';

/** The prior backup's pieces of each file (indices into its packed pieces, in file order). */
export type PriorIndex = Map<string, number[]>;

/** Files unchanged since before the prior backup started can be taken from it (all their pieces). */
export function unchanged(f: PgdataFile, prior: PackedPieces, index: PriorIndex, priorStartMs: number): number[] | undefined {
  const pieces = index.get(f.path);
  if (!pieces) return undefined;
  const size = pieces.reduce((a, i) => a + prior.size(i), 0);
  if (size !== f.size || prior.mtimeMs(pieces[0]!) !== f.mtimeMs) return undefined;
  // A file touched after the prior backup began may have been copied mid-change: copy it again.
  if (f.mtimeMs >= priorStartMs - 1000) return undefined;
  return pieces;
}

/**
 * An unchanged file's piece as this backup records it: the file's mode now, and its block map only
 * while it is of this backup's block size (a manifest has one), else none — the next change copies
 * the file whole, mapped anew. An unchanged piece keeps pointing at the map it was listed in.
 */
export function carryOver(out: PackedPieces, prior: PackedPieces, i: number, mode: number, priorBlockSize: number | undefined, blockSize: number): void {
  out.pushFrom(prior, i, { mode, maps: priorBlockSize === blockSize });
}

/**
 * Pieces of about `bundleBytes` each, packed into bundles of about `bundleBytes`: small files
 * share a bundle, a large file spreads over several bundles (and so over several workers).
 */
export function partition(files: PgdataFile[], bundleBytes: number): FilePiece[][] {
  const bundles: FilePiece[][] = [];
  let cur: FilePiece[] = [];
  let size = 0;
  const add = (p: FilePiece) => {
    if (cur.length && size + p.length > bundleBytes) {
      bundles.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(p);
    size += p.length;
  };
  for (const f of files) {
    if (f.size <= bundleBytes) add({ file: f, start: 0, length: f.size });
    else for (let start = 0; start < f.size; start += bundleBytes) add({ file: f, start, length: Math.min(bundleBytes, f.size - start) });
  }
  if (cur.length) bundles.push(cur);
  return bundles;
}

/** Marks the pieces of large relation files block-mapped (those on a block boundary). */
export function mapBlocks(groups: FilePiece[][], blockSize: number, minBytes: number): void {
  for (const p of groups.flat()) {
    if (blockMapped(p.file.path, p.file.size, minBytes) && p.start % blockSize === 0) p.blockSize = blockSize;
  }
}

/** A piece as a worker is sent it: the prior pieces over its range packed (bundle-worker.ts unpacks them). */
export type TaskPiece = Omit<FilePiece, 'prior'> & { prior?: PackedData };

/**
 * In an incremental, hands each mapped piece of a task the prior backup's pieces over its range
 * when that map is usable (same block size, every piece mapped): then only its changed blocks are
 * stored. Anything else is copied whole. Made when a worker takes the task, packed: the main
 * thread never makes an object per prior piece (thousands per task after scattered changes).
 */
export function attachPrior(task: FilePiece[], prior: PackedPieces, overOf: (p: FilePiece) => number[] | undefined): TaskPiece[] {
  return task.map((p): TaskPiece => {
    const { prior: _none, ...piece } = p;
    const over = overOf(p);
    if (!over) return piece;
    const packed = new PackedPieces();
    for (const i of over) packed.pushFrom(prior, i);
    return { ...piece, prior: packed.data() };
  });
}

/**
 * The prior pieces of `p`'s file over its range (by binary search: they are in file order), when
 * it is compared block by block against them: mapped now, of the same block size, each of them mapped.
 */
export function priorOver(p: FilePiece, prior: PackedPieces, index: PriorIndex, priorBlockSize: number | undefined): number[] | undefined {
  if (!p.blockSize || priorBlockSize !== p.blockSize) return undefined;
  const was = index.get(p.file.path);
  if (!was) return undefined;
  const end = p.start + p.length;
  const first = (pred: (i: number) => boolean) => {
    let lo = 0;
    let hi = was.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pred(was[mid]!)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  const over = was.slice(first((i) => prior.fileOffset(i) + prior.size(i) > p.start), first((i) => prior.fileOffset(i) >= end));
  return over.length && over.every((i) => prior.hasBlockMap(i)) ? over : undefined;
}

/**
 * Gives back the prior backup's records as the tasks that compare against them are handed out.
 * Tasks and the prior manifest both go in path and file order, so once every task still to come
 * reads past a record, nothing reads it again: the prior's records and this backup's are not both
 * held whole at the end (96 bytes a run of blocks each: 7 + 9 MiB for an incremental of 87,000 runs).
 */
export class PriorUse {
  /** each piece's prior pieces, found before any record is released (the search reads others) */
  private readonly over = new Map<FilePiece, number[]>();
  /** lowest prior index any task from k on reads (Infinity: none) */
  private readonly from: number[];
  private readonly done: boolean[];
  private next = 0;

  constructor(groups: FilePiece[][], index: PriorIndex, private readonly prior: PackedPieces, priorBlockSize: number | undefined) {
    this.from = new Array<number>(groups.length + 1).fill(Infinity);
    for (let k = groups.length - 1; k >= 0; k--) {
      let low = this.from[k + 1]!;
      for (const p of groups[k]!) {
        const over = priorOver(p, prior, index, priorBlockSize);
        if (!over) continue;
        this.over.set(p, over);
        low = Math.min(low, over[0]!);
      }
      this.from[k] = low;
    }
    this.done = new Array<boolean>(groups.length).fill(false);
  }

  readonly overOf = (p: FilePiece): number[] | undefined => this.over.get(p);

  /** Task `k` was made: what no task still to come reads is given back. */
  handed(k: number, task: FilePiece[]): void {
    for (const p of task) this.over.delete(p);
    this.done[k] = true;
    while (this.next < this.done.length && this.done[this.next]) this.next++;
    this.prior.release(Math.min(this.from[this.next]!, this.prior.count));
  }
}

/** What the manifest says of its pieces as a whole, counted without making them. */
export function tally(files: PackedPieces, backupId: string) {
  let bytes = 0;
  let mapped = 0;
  let blockNewBytes = 0;
  const blockFiles = new Set<string>();
  // Blocks and whole files this backup takes from earlier backups' bundles; unchanged mapped
  // pieces point at the map an earlier backup wrote: retention keeps both.
  const references = new Set<string>([backupId]);
  const borrowedBundles = new Set<string>();
  for (let i = 0; i < files.count; i++) {
    const backup = files.backup(i);
    bytes += files.size(i);
    references.add(backup);
    if (backup !== backupId) borrowedBundles.add(backupBundleKey(backup, files.bundle(i)));
    const map = files.mapBackup(i);
    if (map) references.add(map);
    if (files.hasBlockMap(i)) {
      mapped++;
      blockFiles.add(files.path(i));
      if (backup === backupId) blockNewBytes += files.size(i);
    }
  }
  return { bytes, mapped, blockFiles: blockFiles.size, blockNewBytes, references: [...references].sort(), borrowedBundles };
}
