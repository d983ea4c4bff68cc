// The chosen manifest's pieces, grouped by the bundle that holds them, kept in a file beside the
// data directory rather than in memory. A restore decodes bundle by bundle, so it needs each
// bundle's pieces together; an incremental's manifest lists a piece per run of blocks (76,868
// after two rounds of scattered updates to a 1.6 GiB table), which held packed were still 7 MiB
// plus garbage on the main thread. Here each bundle keeps at most TAIL pieces in memory; the rest
// go to the file in segments, read back when a worker takes the bundle. The file is written
// before the manifest's authentication is checked at its end: nothing reads it until then, and a
// failed read discards it.
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ManifestFile } from '../../repository/manifest.js';
import { backupBundleKey } from '../../repository/layout.js';
import { BadPieceError, PackedPieces, type PackedData } from '../../repository/packed-pieces.js';

/** Pieces a bundle keeps in memory before they go to the file (6 KiB of records). */
const TAIL = 64;

/** What decoding a bundle costs, in bytes: its data, and per piece about what 256 KiB of data costs (an open, a write and a close at least). */
const PIECE_COST_BYTES = 256 * 1024;

export interface BundleGroup {
  key: string;
  backup: string;
  /** pieces it holds */
  count: number;
  cost: number;
}

interface Group extends BundleGroup {
  tail: PackedPieces;
  /** handed to a worker: a second take would be an empty bundle, restoring nothing */
  taken: boolean;
  /** where its earlier pieces are in the file */
  segments: Array<{ at: number; length: number }>;
}

/** The pieces of one bundle as a segment: [u32 length of the tables' JSON][tables JSON][records]. */
function encodeSegment(d: PackedData): Buffer {
  const tables = Buffer.from(JSON.stringify({ count: d.count, paths: d.paths, backups: d.backups, inline: d.inline }));
  const head = Buffer.alloc(4);
  head.writeUInt32LE(tables.length);
  return Buffer.concat([head, tables, d.records]);
}

function decodeSegment(b: Buffer): PackedData {
  const n = b.readUInt32LE(0);
  const t = JSON.parse(b.toString('utf8', 4, 4 + n)) as Omit<PackedData, 'records'>;
  return { ...t, records: b.subarray(4 + n) };
}

export class BundleSpool {
  private readonly fd: number;
  private end = 0;
  private readonly groups = new Map<string, Group>();
  /** every path a piece has (for the directories to make) */
  readonly paths = new Set<string>();

  /** Starts an empty spool at `file` (one a killed restore left there is replaced). */
  constructor(private readonly file: string) {
    // Its directory is the one the data directory is made in a moment later.
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    rmSync(file, { force: true });
    // O_EXCL: never through a link someone put there.
    this.fd = openSync(file, 'wx+', 0o600);
  }

  /** One piece, as the manifest lists it (its block map is not kept: restore does not read maps). */
  push(f: ManifestFile): void {
    if (typeof f.backup !== 'string' || !Number.isInteger(f.bundle) || f.bundle < 0) throw new BadPieceError(`piece ${String(f.path)} names no bundle`);
    const key = backupBundleKey(f.backup, f.bundle);
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = { key, backup: f.backup, count: 0, cost: 0, tail: new PackedPieces(undefined, { slab: TAIL }), segments: [], taken: false }));
    const { blockMap: _map, blocks: _blocks, ...placed } = f;
    g.tail.push(placed);
    g.count++;
    g.cost += f.size + PIECE_COST_BYTES;
    this.paths.add(f.path);
    if (g.tail.count >= TAIL) this.flush(g);
  }

  private flush(g: Group): void {
    const seg = encodeSegment(g.tail.data());
    let done = 0;
    while (done < seg.length) done += writeSync(this.fd, seg, done, seg.length - done, this.end + done);
    g.segments.push({ at: this.end, length: seg.length });
    this.end += seg.length;
    g.tail = new PackedPieces(undefined, { slab: TAIL });
  }

  /** Every bundle the pieces are in. */
  bundles(): BundleGroup[] {
    return [...this.groups.values()].map(({ key, backup, count, cost }) => ({ key, backup, count, cost }));
  }

  /** The pieces of bundle `key`, packed for a worker, read back from the file (then forgotten here). */
  take(key: string): PackedData {
    const g = this.groups.get(key);
    if (!g) throw new Error(`no pieces for bundle ${key}`);
    if (g.taken) throw new Error(`the pieces of bundle ${key} were taken already`);
    g.taken = true;
    const out = new PackedPieces();
    for (const s of g.segments) {
      const buf = Buffer.allocUnsafe(s.length);
      let got = 0;
      while (got < s.length) {
        const n = readSync(this.fd, buf, got, s.length - got, s.at + got);
        if (n === 0) throw new Error(`the restore's piece spool ${this.file} ends early`);
        got += n;
      }
      const seg = new PackedPieces(decodeSegment(buf));
      for (let i = 0; i < seg.count; i++) out.pushFrom(seg, i);
    }
    for (let i = 0; i < g.tail.count; i++) out.pushFrom(g.tail, i);
    g.segments = [];
    g.tail = new PackedPieces(undefined, { slab: 1 });
    return out.data();
  }

  /** Closes and removes the file. */
  close(): void {
    try {
      closeSync(this.fd);
    } catch { /* closed already */ }
    rmSync(this.file, { force: true });
  }
}
