// The object codec: plaintext <-> stored bytes. Encoding is
//   source -> measure plaintext -> zstd -> chunked AES-256-GCM (+ trailer) -> measure stored bytes
// and decoding runs it backwards, ending only after the trailer's digest and size have matched,
// so a reader that sees 'end' has seen exactly the bytes that were written. Memory is bounded by
// the chunk size whatever the object's size.
import { pipeline, type Readable, type TransformCallback } from 'node:stream';
import { CompressStream, DecompressStream } from 'zstd-napi';
import { IntegrityError } from '../errors.js';
import { DigestTap } from './digest.js';
import { DecryptStream, EncryptStream, type DecryptedTrailer } from './encrypt.js';
import { encodeTrailer } from './object-format.js';

export interface CompressionSettings {
  algorithm: 'zstd' | 'none';
  level: number;
}

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

class VerifyTap extends DigestTap {
  constructor(private readonly key: string, private readonly trailer: () => DecryptedTrailer | undefined, private readonly hashing: boolean) {
    super(hashing);
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
  constructor(private readonly masterKey: Buffer, private readonly compression: CompressionSettings) {}

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
