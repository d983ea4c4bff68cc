// Chunked AES-256-GCM as stream stages. EncryptStream frames its input into fixed-size chunks and
// ends with an authenticated trailer; DecryptStream checks every frame before it emits a byte of it.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { IntegrityError, MisplacedObjectError, WrongKeyError } from '../errors.js';
import { keyId } from '../keys/master-key.js';
import { ByteQueue } from './byte-queue.js';
import { newDataKey, unwrapKey, wrapKey } from './envelope.js';
import {
  DEFAULT_CHUNK, FINAL_BIT, FORMAT_VERSION, HEADER_PREFIX, MAGIC, MAX_FRAME, READABLE_VERSIONS, TAG_BYTES, TRAILER_BYTES,
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

/**
 * The reading side of FrameSealer: an object's header checked (magic, version, master key, the key
 * it was bound to), then each frame authenticated in order. DecryptStream and the pull decoder
 * (object-codec.ts) both read through it.
 */
export class FrameOpener {
  readonly header: ObjectHeader;
  trailer?: DecryptedTrailer;
  private readonly dataKey: Buffer;
  private readonly noncePrefix: Buffer;
  private readonly hHash: Buffer;
  private index = 0;

  /** How many bytes the header takes, from its first HEADER_PREFIX bytes. */
  static headerBytes(objectKey: string, pre: Buffer): number {
    if (!pre.subarray(0, 4).equals(MAGIC)) throw new IntegrityError(objectKey, 'not an fsdr object (bad magic)');
    const version = pre.readUInt8(4);
    if (!READABLE_VERSIONS.includes(version)) throw new IntegrityError(objectKey, `unsupported format version ${version}`);
    return HEADER_PREFIX + pre.readUInt16BE(5);
  }

  /** `raw` is the whole header (headerBytes long); it is not kept. */
  constructor(masterKey: Buffer, private readonly objectKey: string, raw: Buffer) {
    const version = raw.readUInt8(4);
    let h: ObjectHeader;
    try {
      h = JSON.parse(raw.subarray(HEADER_PREFIX).toString('utf8')) as ObjectHeader;
    } catch {
      throw this.corrupt('unreadable header');
    }
    if (h.e !== 'aes-256-gcm' || typeof h.w !== 'string' || typeof h.n !== 'string') throw this.corrupt('malformed header');
    if (version >= 2 && typeof h.o !== 'string') throw this.corrupt('malformed header (no object key)');
    const mine = keyId(masterKey);
    if (h.k !== mine) throw new WrongKeyError(`object ${objectKey}`, h.k, mine);
    const dk = unwrapKey(masterKey, Buffer.from(h.w, 'base64'));
    if (!dk) throw this.corrupt('data key does not authenticate (header damaged)');
    // The bound key is authenticated by every frame (the header hash is in their AAD), so a header
    // edited to name this key fails at frame 0; an intact one naming another key is a copy.
    if (h.o !== undefined && h.o !== objectKey) throw new MisplacedObjectError(objectKey, h.o);
    this.dataKey = dk;
    this.noncePrefix = Buffer.from(h.n, 'base64');
    this.hHash = headerHash(raw);
    this.header = h;
  }

  corrupt(msg: string): IntegrityError {
    return new IntegrityError(this.objectKey, msg);
  }

  /** A frame's length word: its ciphertext length and whether it is the final one. */
  frameWord(word: number): { len: number; final: boolean } {
    if (this.trailer) throw this.corrupt('data after the final frame');
    const len = word & ~FINAL_BIT;
    if (len > MAX_FRAME) throw this.corrupt('frame length out of range');
    return { len, final: (word & FINAL_BIT) !== 0 };
  }

  /** Authenticate and decrypt the next frame; the final one sets `trailer` and returns undefined. */
  open(ct: Buffer, tag: Buffer, final: boolean): Buffer | undefined {
    const d = createDecipheriv('aes-256-gcm', this.dataKey, frameNonce(this.noncePrefix, this.index));
    d.setAAD(frameAad(this.hHash, this.index, final));
    d.setAuthTag(tag);
    let plain: Buffer;
    try {
      plain = d.update(ct);
      d.final();
    } catch {
      throw this.corrupt(`frame ${this.index} fails authentication (flipped bits or reordered data)`);
    }
    this.index++;
    if (!final) return plain;
    if (plain.length !== TRAILER_BYTES) throw this.corrupt('malformed trailer');
    this.trailer = decodeTrailer(plain);
    return undefined;
  }
}

export class DecryptStream extends Transform {
  private q = new ByteQueue();
  private opener?: FrameOpener;
  /** Resolves once the header is parsed, so a caller can pick the decompressor. */
  readonly headerReady: Promise<ObjectHeader>;
  private resolveHeader!: (h: ObjectHeader) => void;

  constructor(private readonly masterKey: Buffer, private readonly objectKey: string) {
    super();
    this.headerReady = new Promise((res) => (this.resolveHeader = res));
    this.headerReady.catch(() => undefined);
  }

  get header(): ObjectHeader | undefined {
    return this.opener?.header;
  }

  get trailer(): DecryptedTrailer | undefined {
    return this.opener?.trailer;
  }

  private corrupt(msg: string): IntegrityError {
    return new IntegrityError(this.objectKey, msg);
  }

  private parseHeader(): boolean {
    if (this.q.length < HEADER_PREFIX) return false;
    const total = FrameOpener.headerBytes(this.objectKey, this.q.peek(HEADER_PREFIX));
    if (this.q.length < total) return false;
    this.opener = new FrameOpener(this.masterKey, this.objectKey, this.q.take(total));
    this.resolveHeader(this.opener.header);
    return true;
  }

  private parseFrames(): void {
    const o = this.opener!;
    while (this.q.length >= 4) {
      const { len, final } = o.frameWord(this.q.peek(4).readUInt32BE(0));
      if (this.q.length < 4 + len + TAG_BYTES) return;
      this.q.take(4);
      const ct = this.q.take(len);
      const plain = o.open(ct, this.q.take(TAG_BYTES), final);
      // Hand the frame on in small slices: a 1 MiB frame of well-compressed data can inflate to
      // tens of MiB in one zstd call, while slices let backpressure bound the memory downstream.
      if (plain) for (let off = 0; off < plain.length; off += OUTPUT_SLICE) this.push(plain.subarray(off, off + OUTPUT_SLICE));
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.q.push(chunk);
      if (!this.opener && !this.parseHeader()) return cb();
      this.parseFrames();
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    if (!this.opener) return cb(this.corrupt('truncated before the end of its header'));
    if (!this.trailer || this.q.length > 0) return cb(this.corrupt('truncated (the final frame is missing)'));
    cb();
  }
}
