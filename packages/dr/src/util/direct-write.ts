// Writes a large file's bytes with O_DIRECT, past the page cache. A buffered write(2) costs the
// writing thread a page allocation and a copy per 4 KiB and leaves the bytes dirty for a later
// sync to write back: on this 2-core VM 1.4-1.9 s of system CPU per GiB (measured: 2 GiB through
// two threads, 2.8-4.0 s sys buffered against 0.17-0.20 s direct), which was most of a restore's
// CPU. Direct writes cost a copy into an aligned staging buffer and the device's own time.
//
// O_DIRECT wants the buffer's address, the file offset and the length aligned to the device's
// block size. Buffer memory has no aligned address; WebAssembly memory is allocated in whole
// pages, so its start is page-aligned. The aligned head of a piece goes out direct, its tail
// (less than a block) through the file's ordinary descriptor. A filesystem without O_DIRECT
// (tmpfs refuses the open) or a refused first write turns it off for the thread: every byte is
// then written the ordinary way, never lost. Durability is unchanged: the restore's final syncfs
// commits the inodes and flushes the device's cache, as it does for buffered writes.
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { FsdrError } from '../errors.js';

/** File offsets, lengths and the buffer's address are kept multiples of this. */
export const DIRECT_ALIGN = 4096;
/** Pieces smaller than this are written the ordinary way (an open and a staging copy for little). */
export const DIRECT_MIN = 1 << 20;
const STAGE = 1 << 20;
const WASM_PAGE = 65536;

/** The thread's staging buffer; null once direct writes proved unavailable here. */
let stage: Buffer | null | undefined;
/** Bytes this thread wrote direct (tests read it: the path must really be taken). */
let directBytes = 0;

export function directBytesWritten(): number {
  return directBytes;
}

function stagingBuffer(): Buffer | null {
  if (stage === undefined) {
    try {
      stage = Buffer.from(new WebAssembly.Memory({ initial: STAGE / WASM_PAGE, maximum: STAGE / WASM_PAGE }).buffer);
    } catch {
      stage = null; // no WebAssembly (node --jitless): buffered writes
    }
  }
  return stage;
}

/** A positioned write of the whole range to the restored data directory; a short one is an error. */
export function writeAll(fd: number, buf: Buffer, length: number, position: number): void {
  const n = writeSync(fd, buf, 0, length, position);
  if (n !== length) {
    throw new FsdrError('FSDR_SHORT_WRITE', `short write to the restored data directory (${n} of ${length} bytes)`, { hint: 'check free space on the target filesystem' });
  }
}

/**
 * One piece of a file written from `position` (a multiple of DIRECT_ALIGN): write() its bytes in
 * order, then finish() with the file's ordinary descriptor, or close() after a failure.
 */
export class DirectWriter {
  private fill = 0;

  private constructor(
    private fd: number | undefined,
    private readonly buf: Buffer,
    private position: number,
    private readonly plainFd: number,
  ) {}

  /** A writer for the piece, or undefined where direct writes are unavailable (write the ordinary way). */
  static open(path: string, position: number, plainFd: number): DirectWriter | undefined {
    if (position % DIRECT_ALIGN !== 0) return undefined;
    const buf = stagingBuffer();
    if (!buf) return undefined;
    let fd: number;
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_DIRECT);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
      stage = null; // the filesystem does not do O_DIRECT
      return undefined;
    }
    return new DirectWriter(fd, buf, position, plainFd);
  }

  write(bytes: Buffer): void {
    let at = 0;
    while (at < bytes.length) {
      const n = bytes.copy(this.buf, this.fill, at);
      this.fill += n;
      at += n;
      if (this.fill === this.buf.length) this.flush(this.fill);
    }
  }

  /** The rest of the piece: its aligned part direct, the tail through the ordinary descriptor. */
  finish(): void {
    const head = this.fill - (this.fill % DIRECT_ALIGN);
    if (head) this.flush(head);
    if (this.fill) {
      writeAll(this.plainFd, this.buf, this.fill, this.position);
      this.position += this.fill;
      this.fill = 0;
    }
    this.close();
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    closeSync(fd);
  }

  /** Writes the first `n` staged bytes (a multiple of DIRECT_ALIGN) at the piece's position. */
  private flush(n: number): void {
    if (this.fd !== undefined) {
      try {
        writeAll(this.fd, this.buf, n, this.position);
        directBytes += n;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
        // Refused for its alignment: this thread writes the ordinary way from now on.
        stage = null;
        this.close();
      }
    }
    if (this.fd === undefined) writeAll(this.plainFd, this.buf, n, this.position);
    this.position += n;
    this.buf.copy(this.buf, 0, n, this.fill);
    this.fill -= n;
  }
}
