// Chunked AES-256-GCM as stream stages. EncryptStream frames its input into fixed-size chunks and
// ends with an authenticated trailer; DecryptStream checks every frame before it emits a byte of it.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { IntegrityError, MisplacedObjectError, WrongKeyError } from '../errors.js';
import { keyId } from '../keys/master-key.js';
import { ByteQueue } from './byte-queue.js';
import { newDataKey, unwrapKey, wrapKey } from './envelope.js';
import {
  DEFAULT_CHUNK, FINAL_BIT, FORMAT_VERSION, MAGIC, MAX_FRAME, READABLE_VERSIONS, TAG_BYTES, TRAILER_BYTES,
  decodeTrailer, encodeHeader, frameAad, frameNonce, headerHash, type ObjectHeader,
} from './object-format.js';

export interface EncryptOptions {
  compression: ObjectHeader['c'];
  /** asked at the end for the trailer (plaintext digest and size, measured upstream) */
  trailer: () => Buffer;
  digest?: 'sha256' | 'none';
  /** object format version to write; only tests write 1 (objects not bound to their key) */
  version?: number;
  chunkSize?: number;
}

/**
 * The frame layer of an encoded object: its authenticated header, then each plaintext chunk
 * sealed as one frame (length word, ciphertext, tag), the last one the trailer. EncryptStream and
 * the pull encoder (object-codec.ts) both write through it, so their output is the same format.
 */
export class FrameSealer {
  private readonly dataKey = newDataKey();
  private readonly noncePrefix = randomBytes(8);
  private readonly hHash: Buffer;
  readonly header: Buffer;
  private index = 0;

  constructor(masterKey: Buffer, objectKey: string, opts: Omit<EncryptOptions, 'trailer' | 'chunkSize'>) {
    const version = opts.version ?? FORMAT_VERSION;
    const h: ObjectHeader = {
      ...(opts.digest === 'none' ? { h: 'none' as const } : {}),
      c: opts.compression,
      e: 'aes-256-gcm',
      k: keyId(masterKey),
      w: wrapKey(masterKey, this.dataKey).toString('base64'),
      n: this.noncePrefix.toString('base64'),
      ...(version >= 2 ? { o: objectKey } : {}),
    };
    this.header = encodeHeader(h, version);
    this.hHash = headerHash(this.header);
  }

  /** One frame, as the buffers to write in order; `plain` may be reused once this returns. */
  seal(plain: Buffer, final: boolean): [Buffer, Buffer, Buffer] {
    const c = createCipheriv('aes-256-gcm', this.dataKey, frameNonce(this.noncePrefix, this.index));
    c.setAAD(frameAad(this.hHash, this.index, final));
    const ct = c.update(plain);
    c.final();
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE((ct.length | (final ? FINAL_BIT : 0)) >>> 0);
    this.index++;
    return [len, ct, c.getAuthTag()];
  }
}

export class EncryptStream extends Transform {
  private readonly sealer: FrameSealer;
  private pending = new ByteQueue();
  private headerSent = false;
  private readonly chunkSize: number;

  constructor(masterKey: Buffer, objectKey: string, private readonly opts: EncryptOptions) {
    super();
    this.chunkSize = opts.chunkSize ?? DEFAULT_CHUNK;
    this.sealer = new FrameSealer(masterKey, objectKey, opts);
  }

  private sendHeader(): void {
    if (!this.headerSent) {
      this.push(this.sealer.header);
      this.headerSent = true;
    }
  }

  private seal(plain: Buffer, final: boolean): void {
    for (const b of this.sealer.seal(plain, final)) this.push(b);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.sendHeader();
    this.pending.push(chunk);
    while (this.pending.length >= this.chunkSize) this.seal(this.pending.take(this.chunkSize), false);
    cb();
  }

  override _flush(cb: TransformCallback): void {
    try {
      this.sendHeader();
      if (this.pending.length > 0) this.seal(this.pending.take(this.pending.length), false);
      this.seal(this.opts.trailer(), true);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }
}

export interface DecryptedTrailer {
  sha256: string;
  size: number;
}

const OUTPUT_SLICE = 64 * 1024;

export class DecryptStream extends Transform {
  private q = new ByteQueue();
  private dataKey?: Buffer;
  private noncePrefix?: Buffer;
  private hHash?: Buffer;
  header?: ObjectHeader;
  trailer?: DecryptedTrailer;
  private index = 0;
  /** Resolves once the header is parsed, so a caller can pick the decompressor. */
  readonly headerReady: Promise<ObjectHeader>;
  private resolveHeader!: (h: ObjectHeader) => void;

  constructor(private readonly masterKey: Buffer, private readonly objectKey: string) {
    super();
    this.headerReady = new Promise((res) => (this.resolveHeader = res));
    this.headerReady.catch(() => undefined);
  }

  private corrupt(msg: string): IntegrityError {
    return new IntegrityError(this.objectKey, msg);
  }

  private parseHeader(): boolean {
    if (this.q.length < 7) return false;
    const pre = this.q.peek(7);
    if (!pre.subarray(0, 4).equals(MAGIC)) throw this.corrupt('not an fsdr object (bad magic)');
    const version = pre.readUInt8(4);
    if (!READABLE_VERSIONS.includes(version)) throw this.corrupt(`unsupported format version ${version}`);
    const hlen = pre.readUInt16BE(5);
    if (this.q.length < 7 + hlen) return false;
    const raw = this.q.take(7 + hlen);
    let h: ObjectHeader;
    try {
      h = JSON.parse(raw.subarray(7).toString('utf8')) as ObjectHeader;
    } catch {
      throw this.corrupt('unreadable header');
    }
    if (h.e !== 'aes-256-gcm' || typeof h.w !== 'string' || typeof h.n !== 'string') throw this.corrupt('malformed header');
    if (version >= 2 && typeof h.o !== 'string') throw this.corrupt('malformed header (no object key)');
    const mine = keyId(this.masterKey);
    if (h.k !== mine) throw new WrongKeyError(`object ${this.objectKey}`, h.k, mine);
    const dk = unwrapKey(this.masterKey, Buffer.from(h.w, 'base64'));
    if (!dk) throw this.corrupt('data key does not authenticate (header damaged)');
    // The bound key is authenticated by every frame (the header hash is in their AAD), so a header
    // edited to name this key fails at frame 0; an intact one naming another key is a copy.
    if (h.o !== undefined && h.o !== this.objectKey) throw new MisplacedObjectError(this.objectKey, h.o);
    this.dataKey = dk;
    this.noncePrefix = Buffer.from(h.n, 'base64');
    this.hHash = headerHash(raw);
    this.header = h;
    this.resolveHeader(h);
    return true;
  }

  private parseFrames(): void {
    while (this.q.length >= 4) {
      if (this.trailer) throw this.corrupt('data after the final frame');
      const word = this.q.peek(4).readUInt32BE(0);
      const final = (word & FINAL_BIT) !== 0;
      const len = word & ~FINAL_BIT;
      if (len > MAX_FRAME) throw this.corrupt('frame length out of range');
      if (this.q.length < 4 + len + TAG_BYTES) return;
      this.q.take(4);
      const ct = this.q.take(len);
      const tag = this.q.take(TAG_BYTES);
      const d = createDecipheriv('aes-256-gcm', this.dataKey!, frameNonce(this.noncePrefix!, this.index));
      d.setAAD(frameAad(this.hHash!, this.index, final));
      d.setAuthTag(tag);
      let plain: Buffer;
      try {
        plain = d.update(ct);
        d.final();
      } catch {
        throw this.corrupt(`frame ${this.index} fails authentication (flipped bits or reordered data)`);
      }
      this.index++;
      if (final) {
        if (plain.length !== TRAILER_BYTES) throw this.corrupt('malformed trailer');
        this.trailer = decodeTrailer(plain);
      } else {
        // Hand the frame on in small slices: a 1 MiB frame of well-compressed data can inflate to
        // tens of MiB in one zstd call, while slices let backpressure bound the memory downstream.
        for (let off = 0; off < plain.length; off += OUTPUT_SLICE) this.push(plain.subarray(off, off + OUTPUT_SLICE));
      }
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.q.push(chunk);
      if (!this.header && !this.parseHeader()) return cb();
      this.parseFrames();
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    if (!this.header) return cb(this.corrupt('truncated before the end of its header'));
    if (!this.trailer || this.q.length > 0) return cb(this.corrupt('truncated (the final frame is missing)'));
    cb();
  }
}
