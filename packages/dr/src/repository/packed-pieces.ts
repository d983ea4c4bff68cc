// A manifest's pieces held compactly: one fixed-size binary record each in one growing buffer,
// paths and backup ids once each in tables. An incremental of a large relation lists one piece per
// run of blocks (41,700 after scattered updates to 1 % of a 1.6 GiB table); as parsed objects they
// cost the main thread about 1 KiB apiece, as records 96 bytes. Backup and restore keep pieces in
// this form and make ManifestFile objects only for the task at hand (ManifestFile stays the format
// on disk and the unit the bundle reader and writer work with).
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { FsdrError } from '../errors.js';
import type { ManifestFile } from './manifest.js';

const RECORD = 96;
const PATH = 0; // u32: index into paths
const MODE = 4; // u32
const SIZE = 8; // f64
const FILE_OFFSET = 16; // f64 (0 when absent)
const MTIME = 24; // f64
const BACKUP = 32; // u32: index into backups
const BUNDLE = 36; // u32
const OFFSET = 40; // f64
const SHA = 48; // 32 bytes
const MAP_KIND = 80; // u8: 0 none, 1 blockMap, 2 inline digests (older manifests)
const MAP_BACKUP = 84; // u32: blockMap.backup; inline: index into `inline`
const MAP_BUNDLE = 88; // u32
const MAP_FIRST = 92; // u32

const SHA_HEX = /^[0-9a-f]{64}$/;

/** The plain data of a PackedPieces: what a worker message carries (structured clone keeps no class). */
export interface PackedData {
  records: Buffer;
  count: number;
  paths: string[];
  backups: string[];
  inline: string[];
}

class Table {
  readonly list: string[];
  private readonly index = new Map<string, number>();

  constructor(list: string[] = []) {
    this.list = list;
    list.forEach((s, i) => this.index.set(s, i));
  }

  of(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(s);
      this.index.set(s, i);
    }
    return i;
  }
}

/** Thrown for a piece that cannot be a manifest's (the manifest reader reports it as damage). */
export class BadPieceError extends Error {}

function u32(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new BadPieceError(`${what} is not a valid number`);
  return v;
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new BadPieceError(`${what} is not a valid number`);
  return v;
}

/** Records per slab: the buffer grows a slab at a time, never by copying what it holds. */
const SLAB = 512;
const RELEASED = Buffer.alloc(0);
/** A full slab written to the spill file (read back on access). */
const SPILLED = Buffer.alloc(0);
/** Spilled slabs kept in memory after a read: access goes in path order, a few slabs at a time. */
const SPILL_CACHE = 8;

/**
 * Full slabs written to a temporary file and read back when touched: a backup's pieces (its own
 * and its prior's) then cost the main thread a few slabs, not 96 bytes each, whatever their
 * number. The file is unlinked as soon as it is opened: nothing is left behind by a crash.
 */
class SpillFile {
  private readonly fd: number;
  private readonly cache = new Map<number, Buffer>();

  constructor(dir: string, private readonly slabBytes: number) {
    const path = join(dir, `.fsdr-pieces-${process.pid}-${randomBytes(6).toString('hex')}`);
    this.fd = openSync(path, 'wx+', 0o600);
    unlinkSync(path);
  }

  write(k: number, slab: Buffer): void {
    const n = writeSync(this.fd, slab, 0, this.slabBytes, k * this.slabBytes);
    if (n !== this.slabBytes) {
      throw new FsdrError('FSDR_SPILL_WRITE', `short write to the backup's piece spill file (${n} of ${this.slabBytes} bytes)`, { hint: 'check free space in the temporary directory (TMPDIR), then run the backup again' });
    }
  }

  read(k: number): Buffer {
    let b = this.cache.get(k);
    if (b) return b;
    // The oldest slab's buffer is reused: a pass over the pieces makes no garbage.
    if (this.cache.size >= SPILL_CACHE) {
      const [oldest, buf] = this.cache.entries().next().value!;
      this.cache.delete(oldest);
      b = buf;
    } else b = Buffer.allocUnsafe(this.slabBytes);
    const n = readSync(this.fd, b, 0, this.slabBytes, k * this.slabBytes);
    if (n !== this.slabBytes) throw new FsdrError('FSDR_SPILL_READ', `short read from the backup's piece spill file (${n} of ${this.slabBytes} bytes)`, { hint: 'the temporary directory (TMPDIR) lost data under the backup: check it, then run the backup again' });
    this.cache.set(k, b);
    return b;
  }

  forget(k: number): void {
    this.cache.delete(k);
  }

  close(): void {
    this.cache.clear();
    closeSync(this.fd);
  }
}

export class PackedPieces {
  private readonly slabs: Buffer[] = [];
  /** records per slab: 512 (48 KiB) unless told (many small tables, such as a restore's per-bundle tails) */
  private readonly perSlab: number;
  /** pieces held */
  count = 0;
  private readonly paths: Table;
  private readonly backups: Table;
  private readonly inline: string[];

  private readonly spill?: SpillFile;

  /** `spillDir`: keep only the last slab in memory, the full ones in a file there (close() it). */
  constructor(data?: PackedData, opts: { slab?: number; spillDir?: string } = {}) {
    this.perSlab = opts.slab ?? SLAB;
    if (opts.spillDir) this.spill = new SpillFile(opts.spillDir, this.perSlab * RECORD);
    if (data) {
      // From a worker message the buffer arrives as a plain Uint8Array: slabs are views of it.
      const all = Buffer.from(data.records.buffer, data.records.byteOffset, data.records.byteLength);
      for (let at = 0; at < data.count * RECORD; at += this.perSlab * RECORD) this.slabs.push(all.subarray(at, at + this.perSlab * RECORD));
      this.count = data.count;
    }
    this.paths = new Table(data?.paths);
    this.backups = new Table(data?.backups);
    this.inline = data?.inline ?? [];
  }

  /** What to send to a worker: the records in one buffer of their size, and the tables. */
  data(): PackedData {
    const records = Buffer.allocUnsafe(this.count * RECORD);
    for (let k = 0; k < this.slabs.length; k++) this.slabAt(k).copy(records, k * this.perSlab * RECORD, 0, Math.min(this.perSlab, this.count - k * this.perSlab) * RECORD);
    return { records, count: this.count, paths: this.paths.list, backups: this.backups.list, inline: this.inline };
  }

  push(f: ManifestFile): void {
    if (typeof f.path !== 'string' || typeof f.backup !== 'string') throw new BadPieceError('a piece has no path or backup');
    if (typeof f.sha256 !== 'string' || !SHA_HEX.test(f.sha256)) throw new BadPieceError(`piece ${f.path} has no valid sha256`);
    const r = this.room();
    const o = this.off(this.count);
    r.writeUInt32LE(this.paths.of(f.path), o + PATH);
    r.writeUInt32LE(u32(f.mode, 'mode'), o + MODE);
    r.writeDoubleLE(num(f.size, 'size'), o + SIZE);
    r.writeDoubleLE(num(f.fileOffset ?? 0, 'fileOffset'), o + FILE_OFFSET);
    r.writeDoubleLE(num(f.mtimeMs, 'mtimeMs'), o + MTIME);
    r.writeUInt32LE(this.backups.of(f.backup), o + BACKUP);
    r.writeUInt32LE(u32(f.bundle, 'bundle'), o + BUNDLE);
    r.writeDoubleLE(num(f.offset, 'offset'), o + OFFSET);
    r.write(f.sha256, o + SHA, 32, 'hex');
    if (f.blockMap) {
      r.writeUInt8(1, o + MAP_KIND);
      r.writeUInt32LE(this.backups.of(f.blockMap.backup), o + MAP_BACKUP);
      r.writeUInt32LE(u32(f.blockMap.bundle, 'blockMap.bundle'), o + MAP_BUNDLE);
      r.writeUInt32LE(u32(f.blockMap.first, 'blockMap.first'), o + MAP_FIRST);
    } else if (f.blocks !== undefined) {
      r.writeUInt8(2, o + MAP_KIND);
      r.writeUInt32LE(this.inline.length, o + MAP_BACKUP);
      this.inline.push(f.blocks);
    } else {
      r.writeUInt8(0, o + MAP_KIND);
    }
    this.count++;
  }

  /** Piece `i` as the manifest lists it. */
  get(i: number): ManifestFile {
    const r = this.slab(i);
    const o = this.off(i);
    const fileOffset = r.readDoubleLE(o + FILE_OFFSET);
    const f: ManifestFile = {
      path: this.paths.list[r.readUInt32LE(o + PATH)]!, size: r.readDoubleLE(o + SIZE), ...(fileOffset ? { fileOffset } : {}), mode: r.readUInt32LE(o + MODE), mtimeMs: r.readDoubleLE(o + MTIME),
      sha256: r.toString('hex', o + SHA, o + SHA + 32), backup: this.backups.list[r.readUInt32LE(o + BACKUP)]!, bundle: r.readUInt32LE(o + BUNDLE), offset: r.readDoubleLE(o + OFFSET),
    };
    const kind = r.readUInt8(o + MAP_KIND);
    if (kind === 1) f.blockMap = { backup: this.backups.list[r.readUInt32LE(o + MAP_BACKUP)]!, bundle: r.readUInt32LE(o + MAP_BUNDLE), first: r.readUInt32LE(o + MAP_FIRST) };
    else if (kind === 2) f.blocks = this.inline[r.readUInt32LE(o + MAP_BACKUP)]!;
    return f;
  }

  /** Index of the piece's path in pathList() (the fields below: what planning reads often, without making the piece). */
  pathIndex(i: number): number {
    return this.slab(i).readUInt32LE(this.off(i) + PATH);
  }

  path(i: number): string {
    return this.paths.list[this.slab(i).readUInt32LE(this.off(i) + PATH)]!;
  }

  size(i: number): number {
    return this.slab(i).readDoubleLE(this.off(i) + SIZE);
  }

  fileOffset(i: number): number {
    return this.slab(i).readDoubleLE(this.off(i) + FILE_OFFSET);
  }

  mtimeMs(i: number): number {
    return this.slab(i).readDoubleLE(this.off(i) + MTIME);
  }

  backup(i: number): string {
    return this.backups.list[this.slab(i).readUInt32LE(this.off(i) + BACKUP)]!;
  }

  bundle(i: number): number {
    return this.slab(i).readUInt32LE(this.off(i) + BUNDLE);
  }

  /** The backup whose map object holds the piece's digests, if any. */
  mapBackup(i: number): string | undefined {
    const r = this.slab(i);
    const o = this.off(i);
    return r.readUInt8(o + MAP_KIND) === 1 ? this.backups.list[r.readUInt32LE(o + MAP_BACKUP)] : undefined;
  }

  hasBlockMap(i: number): boolean {
    return this.slab(i).readUInt8(this.off(i) + MAP_KIND) !== 0;
  }

  /**
   * Copies piece `i` of `from` in (tables translated): no object is made. `maps: false` leaves its
   * block map out (restore places pieces; only the next incremental reads maps), `mode` replaces its mode.
   */
  pushFrom(from: PackedPieces, i: number, opts: { maps?: boolean; mode?: number } = {}): void {
    const r = this.room();
    const o = this.off(this.count);
    const src = from.slab(i);
    const so = from.off(i);
    src.copy(r, o, so, so + RECORD);
    r.writeUInt32LE(this.paths.of(from.path(i)), o + PATH);
    r.writeUInt32LE(this.backups.of(from.backup(i)), o + BACKUP);
    if (opts.mode !== undefined) r.writeUInt32LE(u32(opts.mode, 'mode'), o + MODE);
    if (opts.maps === false) r.writeUInt8(0, o + MAP_KIND);
    const kind = r.readUInt8(o + MAP_KIND);
    if (kind === 1) r.writeUInt32LE(this.backups.of(from.mapBackup(i)!), o + MAP_BACKUP);
    else if (kind === 2) {
      r.writeUInt32LE(this.inline.length, o + MAP_BACKUP);
      this.inline.push(from.inline[src.readUInt32LE(so + MAP_BACKUP)]!);
    }
    this.count++;
  }

  /** Every path a piece has (each once). */
  pathList(): readonly string[] {
    return this.paths.list;
  }

  *[Symbol.iterator](): Generator<ManifestFile> {
    for (let i = 0; i < this.count; i++) yield this.get(i);
  }

  /**
   * Frees the records of pieces before `index` (whole slabs only): a reader that goes through the
   * pieces in order gives back what it is done with. Reading a released piece throws.
   */
  release(index: number): void {
    // At or past the end: the last, partly filled slab too.
    const end = index >= this.count ? this.slabs.length * this.perSlab : index;
    for (let k = this.released; (k + 1) * this.perSlab <= end; k++) {
      this.slabs[k] = RELEASED;
      this.spill?.forget(k);
      this.released = k + 1;
    }
  }

  private released = 0;

  /** Gives back the spill file (a no-op without one); the pieces are unreadable afterwards. */
  close(): void {
    if (!this.spill || this.closed) return;
    this.closed = true;
    this.slabs.fill(RELEASED);
    this.spill.close();
  }

  private closed = false;

  private slab(i: number): Buffer {
    if (!(i >= 0 && i < this.count)) throw new RangeError(`piece ${i} of ${this.count}`);
    return this.slabAt(Math.floor(i / this.perSlab));
  }

  /** A spilled slab's buffer is valid until the next read of the file: use it at once, keep none. */
  private slabAt(k: number): Buffer {
    const s = this.slabs[k]!;
    if (s === SPILLED) return this.spill!.read(k);
    if (s === RELEASED) throw new RangeError(`pieces of slab ${k} were released`);
    return s;
  }

  private off(i: number): number {
    return (i % this.perSlab) * RECORD;
  }

  /** The slab the next record goes into. */
  private room(): Buffer {
    const k = Math.floor(this.count / this.perSlab);
    if (k === this.slabs.length) {
      // The slab before is full and is never written again: to the file with it.
      if (this.spill && k > 0 && this.slabs[k - 1] !== RELEASED) {
        this.spill.write(k - 1, this.slabs[k - 1]!);
        this.slabs[k - 1] = SPILLED;
      }
      this.slabs.push(Buffer.alloc(this.perSlab * RECORD));
    }
    if (this.slabs[k] === RELEASED) throw new RangeError('pieces were released: nothing more can be added');
    return this.slabs[k]!;
  }
}
