// The object codec: plaintext <-> stored bytes. Encoding is
//   source -> measure plaintext -> zstd -> chunked AES-256-GCM (+ trailer) -> measure stored bytes
// and decoding runs it backwards, ending only after the trailer's digest and size have matched,
// so a reader that sees 'end' has seen exactly the bytes that were written. Memory is bounded by
// the chunk size whatever the object's size.
import { createHash, type Hash } from 'node:crypto';
import { pipeline, Readable, type TransformCallback } from 'node:stream';
import { CompressStream, DecompressStream } from 'zstd-napi';
// zstd-napi's low-level binding (a CommonJS addon): compressStream2 writes into a buffer we own.
import zstd from 'zstd-napi/binding.js';

import { IntegrityError } from '../errors.js';
import { allocatedBytes } from '../util/young-gc.js';
import { DigestTap } from './digest.js';
import { DecryptStream, EncryptStream, FrameOpener, FrameSealer, type DecryptedTrailer } from './encrypt.js';
import { DEFAULT_CHUNK, HEADER_PREFIX, MAX_FRAME, TAG_BYTES, encodeTrailer } from './object-format.js';

export interface CompressionSettings {
  algorithm: 'zstd' | 'none';
  level: number;
}

/**
 * What one encode holds: `chunk` bytes of plaintext read at a time (also the size of a written
 * frame: a decoder's frame buffer grows to it) and, if set, zstd's window (2^windowLog bytes, which
 * every decoder of the object then needs too; level 3 would use 2 MiB). Every footprint writes the
 * same format.
 */
export interface CodecFootprint {
  chunk: number;
  windowLog?: number;
}

export const DEFAULT_FOOTPRINT: CodecFootprint = { chunk: DEFAULT_CHUNK };

/**
 * For threads whose memory is bounded by a target (wal-push: 60 MiB; backup's bundle workers and
 * restore's extract workers: 128 MiB for the process). 256 KiB frames and a 512 KiB window (what
 * zstd's level 1 uses anyway) cut wal-push's peak by about 4 MiB (16 MiB segments of md5 text:
 * stored size -0.2 %, time within noise) and an incremental backup's by about 10 MiB with two
 * workers (137 -> 127.5 MiB, the same incremental of a 1.6 GiB table five times over; the 1 MiB
 * frames' ciphertext, one allocation each, is what the workers' malloc arenas kept).
 */
export const SMALL_FOOTPRINT: CodecFootprint = { chunk: 256 * 1024, windowLog: 19 };

export interface EncodeResult {
  /** sha256 of the plaintext, hex ('' when encoded with digest: false) */
  sha256: string;
  size: number;
  /** bytes as stored (after compression and encryption) */
  storedSize: number;
}

export interface EncodeOptions {
  /**
   * Hash the plaintext into the trailer (default). Bundles turn it off: their manifest holds a
   * sha256 per file, and hashing every byte twice costs a core's worth of backup throughput.
   */
  digest?: boolean;
  /** Object format version to write (default: the current one). Tests write 1 to check old repositories. */
  version?: number;
}

export interface Encoded {
  stream: Readable;
  /** Valid once `stream` has ended. */
  result(): EncodeResult;
}

const noop = () => undefined;

/**
 * Plaintext an encoder pulls: `read` fills `buf` from its start and resolves to the bytes it put
 * there (0 once there are no more). The encoder has finished with those bytes when it asks again,
 * so a source never allocates per chunk.
 */
export interface ChunkSource {
  read(buf: Buffer): Promise<number>;
  /** Called once, after the last read or on failure (to close a file handle). */
  close?(): Promise<void>;
}

/** The reusable buffers and zstd context of one encode (see ObjectCodec.encodeFrom). */
interface Scratch {
  input: Buffer;
  frame: Buffer;
  cctx?: CCtx;
}

const { CCtx, CParameter, DCtx, EndDirective, ResetDirective } = zstd;
type CCtx = InstanceType<typeof zstd.CCtx>;
type DCtx = InstanceType<typeof zstd.DCtx>;
const EMPTY = Buffer.alloc(0);
/** Scratch sets an ObjectCodec keeps for later encodes (each ~2 MiB plus a zstd context). */
const SCRATCH_KEPT = 2;

/**
 * encodeFrom's stream. Each pull reads one chunk into the scratch input buffer, hashes it, compresses
 * it straight into the frame buffer and seals every full frame; only the ciphertext the cipher
 * returns is a new allocation. The chain of stream stages that encode() builds allocates about
 * 2.5 buffers per plaintext byte instead, and V8 lets that garbage reach tens of MiB per isolate
 * before it collects (measured: 30-45 MiB per bundle worker), which is most of a backup's RSS.
 */
class PullEncoder extends Readable {
  private fill = 0;
  private started = false;
  private pumping = false;
  private again = false;
  private finished = false;
  bytes = 0;
  storedBytes = 0;
  private digestBuf?: Buffer;

  constructor(
    private readonly source: ChunkSource,
    private readonly sealer: FrameSealer,
    private readonly scratch: Scratch,
    private readonly hash: Hash | undefined,
    private readonly release: (s: Scratch) => void,
  ) {
    super();
  }

  private out(bufs: Buffer[]): void {
    for (const b of bufs) {
      this.storedBytes += b.length;
      this.push(b);
    }
  }

  private sealFrame(): void {
    if (this.fill === 0) return;
    // Counted before the cipher allocates it: a young collection now finds the frames written dead.
    allocatedBytes(this.fill);
    this.out(this.sealer.seal(this.scratch.frame.subarray(0, this.fill), false));
    this.fill = 0;
  }

  private compress(src: Buffer, end: boolean): void {
    const { frame, cctx } = this.scratch;
    for (;;) {
      const [remaining, produced, consumed] = cctx!.compressStream2(frame.subarray(this.fill), src, end ? EndDirective.end : EndDirective.continue);
      this.fill += produced;
      src = src.subarray(consumed);
      if (this.fill === frame.length) this.sealFrame();
      if (end ? remaining === 0 : src.length === 0) return;
    }
  }

  private absorb(src: Buffer): void {
    this.hash?.update(src);
    this.bytes += src.length;
    if (this.scratch.cctx) return this.compress(src, false);
    const frame = this.scratch.frame;
    while (src.length) {
      const n = src.copy(frame, this.fill);
      this.fill += n;
      src = src.subarray(n);
      if (this.fill === frame.length) this.sealFrame();
    }
  }

  private finish(): void {
    if (this.scratch.cctx) this.compress(EMPTY, true);
    this.sealFrame();
    this.digestBuf = this.hash ? this.hash.digest() : Buffer.alloc(32);
    this.out(this.sealer.seal(encodeTrailer(this.digestBuf, this.bytes), true));
  }

  override _read(): void {
    if (this.finished) return;
    // push() inside a pump may ask for more at once: remember it and pump again afterwards.
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    this.pump().then(
      () => {
        this.pumping = false;
        if (this.again) {
          this.again = false;
          this._read();
        }
      },
      (err: Error) => this.destroy(err),
    );
  }

  private async pump(): Promise<void> {
    if (!this.started) {
      this.started = true;
      this.out([this.sealer.header]);
      return;
    }
    const before = this.storedBytes;
    // Read until a frame went out (zstd may take a few chunks before it emits a byte).
    while (this.storedBytes === before) {
      const n = await this.source.read(this.scratch.input);
      if (this.destroyed) return;
      if (n === 0) {
        this.finish();
        this.finished = true;
        await this.source.close?.();
        this.scratch.cctx?.reset(ResetDirective.sessionOnly);
        this.release(this.scratch);
        this.push(null);
        return;
      }
      this.absorb(this.scratch.input.subarray(0, n));
    }
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    // The scratch buffers are not returned to the pool: a read may still be filling them.
    if (this.finished) return cb(err);
    this.finished = true;
    Promise.resolve(this.source.close?.()).then(() => cb(err), () => cb(err));
  }

  get sha256(): string {
    return this.hash && this.digestBuf ? this.digestBuf.toString('hex') : '';
  }
}

/**
 * Plaintext a pull decoder hands on: `plain` is one of its reused buffers, valid until the promise
 * resolves (copy what must outlive it). The decoder fills its other buffer meanwhile.
 */
export type PlainSink = (plain: Buffer) => Promise<void>;

/** Stored bytes read into the decoder's own buffer (the storage layer's ObjectReader has this shape). */
export interface StoredReader {
  /** Fill buf[offset, offset + length) as far as it can; 0 at the end. */
  read(buf: Buffer, offset: number, length: number): Promise<number>;
  close(): Promise<void>;
}

export interface DecodeResult {
  /** sha256 of the plaintext as verified against the trailer, hex ('' for an object stored without one) */
  sha256: string;
  size: number;
}

/** The reusable buffers and zstd context of one decode (see ObjectCodec.decodeInto). */
interface DecodeScratch {
  /** one whole frame (length word, ciphertext, tag) at a time; grows up to MAX_FRAME if a frame is larger */
  frame: Buffer;
  out: [Buffer, Buffer];
  dctx: DCtx;
}

/** Each of the pull decoder's two output buffers (and so its largest sink call): 256 KiB keeps 1.5 MiB less per decode than 1 MiB. */
const DECODE_OUT = 256 * 1024;
/**
 * A decode's frame buffer starts large enough for any header (its length is 16 bits) and grows
 * to the object's frames: small objects read in parallel (a restore reads 8 summaries at once)
 * do not each hold a frame's worth (1 MiB apiece was 12 MiB of a restore's main thread, measured).
 */
const FIRST_FRAME_BUFFER = HEADER_PREFIX + 0xffff;

/**
 * decodeInto's engine: stored bytes are copied into one frame buffer, each frame authenticated and
 * decrypted (the decipher's output is the only allocation per frame), decompressed into one of two
 * output buffers and handed to the sink while the other one fills. The stream-stage chain of
 * decode() allocates several buffers per chunk (queue copies, slices, zstd output), and V8 keeps
 * that garbage long enough to cost 16-20 MiB per restore worker.
 */
class PullDecoder {
  private opener?: FrameOpener;
  private fill = 0;
  /** bytes the current unit (header prefix, header, length word, frame) needs in `frame` */
  private need = HEADER_PREFIX;
  private stage: 'prefix' | 'header' | 'word' | 'frame' = 'prefix';
  private final = false;
  private len = 0;
  private outFill = 0;
  private cur = 0;
  private pending?: Promise<void>;
  /** only for an object whose trailer holds a digest (bundles' files are checked per file) */
  private hash?: Hash;
  bytes = 0;

  constructor(
    private readonly masterKey: Buffer,
    private readonly key: string,
    private readonly scratch: DecodeScratch,
    private readonly sink: PlainSink,
  ) {}

  async run(stored: Readable | StoredReader): Promise<DecodeResult> {
    try {
      if (stored instanceof Readable) {
        for await (const raw of stored) {
          const chunk = raw as Buffer;
          allocatedBytes(chunk.length);
          await this.absorb(chunk);
        }
      } else {
        // Straight into the frame buffer: nothing is allocated per read.
        for (;;) {
          const n = await stored.read(this.scratch.frame, this.fill, this.need - this.fill);
          if (n === 0) break;
          this.fill += n;
          if (this.fill === this.need) await this.unit();
        }
      }
      const o = this.opener;
      if (!o) throw new IntegrityError(this.key, 'truncated before the end of its header');
      if (!o.trailer || this.fill > 0) throw o.corrupt('truncated (the final frame is missing)');
      await this.flushOut();
      await this.pending;
      const t = o.trailer;
      const sha256 = this.hash ? this.hash.digest('hex') : '';
      if (t.size !== this.bytes || (this.hash && t.sha256 !== sha256)) {
        throw o.corrupt(`content does not match its recorded checksum (${this.bytes} bytes read, ${t.size} recorded)`);
      }
      return { sha256, size: this.bytes };
    } catch (err) {
      // Leave no write of the sink running once the caller sees the failure.
      await this.pending?.catch(noop);
      throw err;
    } finally {
      if (stored instanceof Readable) stored.destroy();
      else await stored.close();
    }
  }

  private async absorb(chunk: Buffer): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      const n = chunk.copy(this.scratch.frame, this.fill, off, off + this.need - this.fill);
      this.fill += n;
      off += n;
      if (this.fill === this.need) await this.unit();
    }
  }

  /** `frame` holds the `need` bytes of the current unit: act on them and say what comes next. */
  private async unit(): Promise<void> {
    const f = this.scratch.frame;
    this.fill = 0;
    switch (this.stage) {
      case 'prefix':
        this.need = FrameOpener.headerBytes(this.key, f.subarray(0, HEADER_PREFIX));
        // The prefix stays where it is: the header is read over it from the start.
        this.fill = HEADER_PREFIX;
        this.stage = 'header';
        if (this.need > HEADER_PREFIX) return;
      // falls through (a header of no bytes is rejected by the opener)
      case 'header':
        this.opener = new FrameOpener(this.masterKey, this.key, f.subarray(0, this.need));
        if (this.opener.header.h !== 'none') this.hash = createHash('sha256');
        this.fill = 0;
        this.stage = 'word';
        this.need = 4;
        return;
      case 'word': {
        ({ len: this.len, final: this.final } = this.opener!.frameWord(f.readUInt32BE(0)));
        const need = this.len + TAG_BYTES;
        if (need > this.scratch.frame.length) this.scratch.frame = Buffer.allocUnsafe(Math.min(need, MAX_FRAME + TAG_BYTES));
        this.stage = 'frame';
        this.need = need;
        return;
      }
      case 'frame': {
        // Counted before the decipher allocates it: a young collection now finds the last frame dead.
        allocatedBytes(this.len);
        const plain = this.opener!.open(f.subarray(0, this.len), f.subarray(this.len, this.len + TAG_BYTES), this.final);
        this.stage = 'word';
        this.need = 4;
        if (!plain) return;
        if (this.opener!.header.c === 'zstd') await this.decompress(plain);
        else await this.copyOut(plain);
      }
    }
  }

  private async decompress(src: Buffer): Promise<void> {
    const { dctx } = this.scratch;
    for (;;) {
      const out = this.scratch.out[this.cur]!;
      const [, produced, consumed] = dctx.decompressStream(out.subarray(this.outFill), src);
      this.outFill += produced;
      src = src.subarray(consumed);
      const full = this.outFill === out.length;
      if (full) await this.flushOut();
      // A full output buffer may leave output inside zstd: call again, even with no input left.
      if (!src.length && !full) return;
    }
  }

  private async copyOut(src: Buffer): Promise<void> {
    while (src.length) {
      const out = this.scratch.out[this.cur]!;
      const n = src.copy(out, this.outFill);
      this.outFill += n;
      src = src.subarray(n);
      if (this.outFill === out.length) await this.flushOut();
    }
  }

  /** Hand the filled output buffer to the sink (after its previous call finished) and switch buffers. */
  private async flushOut(): Promise<void> {
    if (!this.outFill) return;
    const plain = this.scratch.out[this.cur]!.subarray(0, this.outFill);
    this.hash?.update(plain);
    this.bytes += plain.length;
    await this.pending;
    const p = this.sink(plain);
    p.catch(noop);
    this.pending = p;
    this.cur ^= 1;
    this.outFill = 0;
  }
}

class VerifyTap extends DigestTap {
  constructor(private readonly key: string, private readonly trailer: () => DecryptedTrailer | undefined, private readonly hashing: boolean) {
    super(hashing);
  }
  override _transform(chunk: Buffer, e: BufferEncoding, cb: TransformCallback): void {
    // Decoding allocates a few buffers per plaintext byte (read, frame, decrypt, decompress).
    allocatedBytes(chunk.length);
    super._transform(chunk, e, cb);
  }

  override _flush(cb: TransformCallback): void {
    const t = this.trailer();
    if (!t) return cb(new IntegrityError(this.key, 'truncated (the final frame is missing)'));
    if (t.size !== this.bytes || (this.hashing && t.sha256 !== this.sha256)) {
      return cb(new IntegrityError(this.key, `content does not match its recorded checksum (${this.bytes} bytes read, ${t.size} recorded)`));
    }
    cb();
  }
}

export class ObjectCodec {
  private readonly scratch: Scratch[] = [];
  private readonly decodeScratch: DecodeScratch[] = [];

  constructor(
    private readonly masterKey: Buffer,
    private readonly compression: CompressionSettings,
    private readonly footprint: CodecFootprint = DEFAULT_FOOTPRINT,
  ) {}

  private takeScratch(): Scratch {
    const kept = this.scratch.pop();
    if (kept) return kept;
    let cctx: CCtx | undefined;
    if (this.compression.algorithm === 'zstd') {
      cctx = new CCtx();
      cctx.setParameter(CParameter.compressionLevel, this.compression.level);
      if (this.footprint.windowLog) cctx.setParameter(CParameter.windowLog, this.footprint.windowLog);
    }
    const { chunk } = this.footprint;
    return { input: Buffer.allocUnsafe(chunk), frame: Buffer.allocUnsafe(chunk), cctx };
  }

  /**
   * Encode what `source` yields as the object stored under `key`, with buffers reused from one
   * chunk to the next (the same stored format as encode). For large objects: bundles, WAL segments.
   */
  encodeFrom(key: string, source: ChunkSource, opts: EncodeOptions = {}): Encoded {
    const digest = opts.digest ?? true;
    const sealer = new FrameSealer(this.masterKey, key, {
      compression: this.compression.algorithm === 'zstd' ? 'zstd' : 'none',
      digest: digest ? 'sha256' : 'none',
      version: opts.version,
    });
    const enc = new PullEncoder(source, sealer, this.takeScratch(), digest ? createHash('sha256') : undefined, (s) => {
      if (this.scratch.length < SCRATCH_KEPT) this.scratch.push(s);
    });
    return { stream: enc, result: () => ({ sha256: enc.sha256, size: enc.bytes, storedSize: enc.storedBytes }) };
  }

  /**
   * Decode the object stored under `key` into `sink`, through buffers reused from one frame to the
   * next (bounded memory, little garbage: restore's bundles, a re-pushed segment's checksum).
   * Every check decode() makes is made: the header (master key, format, the key the object is
   * bound to), each frame's authentication, and the trailer's size and digest, which are checked
   * after the sink's last call and before this resolves; it rejects with an IntegrityError (or
   * WrongKeyError, MisplacedObjectError) otherwise, and `stored` is destroyed on any failure.
   */
  async decodeInto(key: string, stored: Readable | StoredReader, sink: PlainSink): Promise<DecodeResult> {
    const scratch = this.decodeScratch.pop() ?? {
      frame: Buffer.allocUnsafe(FIRST_FRAME_BUFFER),
      out: [Buffer.allocUnsafe(DECODE_OUT), Buffer.allocUnsafe(DECODE_OUT)] as [Buffer, Buffer],
      dctx: new DCtx(),
    };
    const r = await new PullDecoder(this.masterKey, key, scratch, sink).run(stored);
    // Only a decode that ended cleanly leaves the zstd context at a frame boundary to reuse.
    scratch.dctx.reset(ResetDirective.sessionOnly);
    if (this.decodeScratch.length < SCRATCH_KEPT) this.decodeScratch.push(scratch);
    return r;
  }

  /** Encode `source` as the object stored under `key` (bound into its authenticated header). */
  encode(key: string, source: Readable, opts: EncodeOptions = {}): Encoded {
    const digest = opts.digest ?? true;
    const plain = new DigestTap(digest);
    const zstd = this.compression.algorithm === 'zstd';
    const enc = new EncryptStream(this.masterKey, key, {
      compression: zstd ? 'zstd' : 'none',
      trailer: () => encodeTrailer(plain.digest(), plain.bytes),
      digest: digest ? 'sha256' : 'none',
      version: opts.version,
    });
    const stored = new DigestTap(false);
    const stages: NodeJS.ReadWriteStream[] = [plain];
    if (zstd) stages.push(new CompressStream({ compressionLevel: this.compression.level }));
    stages.push(enc, stored);
    pipeline([source, ...stages] as never, noop);
    return {
      stream: stored,
      result: () => ({ sha256: digest ? plain.sha256 : '', size: plain.bytes, storedSize: stored.bytes }),
    };
  }

  /**
   * Decode the stream stored under `key`. Resolves once the header has been read and checked
   * (wrong master key, bad magic, and an object written under another key fail here, before a byte
   * is returned); the returned stream errors with an
   * IntegrityError naming `key` if anything later fails authentication or is truncated.
   */
  async decode(key: string, stored: Readable): Promise<Readable> {
    const decrypt = new DecryptStream(this.masterKey, key);
    stored.on('error', (e) => decrypt.destroy(e));
    // A decode failure must release the source too (a file handle, an S3 socket).
    decrypt.on('error', () => stored.destroy());
    stored.pipe(decrypt);
    const header = await new Promise<Awaited<typeof decrypt.headerReady>>((resolve, reject) => {
      decrypt.once('error', reject);
      decrypt.headerReady.then((h) => {
        decrypt.off('error', reject);
        resolve(h);
      });
    });
    const verify = new VerifyTap(key, () => decrypt.trailer, header.h !== 'none');
    const stages: NodeJS.ReadWriteStream[] = [decrypt];
    if (header.c === 'zstd') stages.push(new DecompressStream());
    stages.push(verify);
    pipeline(stages as never, noop);
    return verify;
  }
}
