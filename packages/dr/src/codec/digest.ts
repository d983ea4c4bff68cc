// A pass-through stage that measures what flows through it (sha256 and byte count), as
// pgBackRest's result-only filters do, so no stage has to buffer an object to know its digest.
import { createHash, type Hash } from 'node:crypto';
import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export class DigestTap extends Transform {
  private readonly hash?: Hash;
  // Not named `size`: the AWS SDK's upload helper reads a body's `size` as its total length.
  bytes = 0;
  private digestHex?: string;
  private digestBuf?: Buffer;

  /** `hashing: false` only counts bytes (where another check already covers the content). */
  constructor(hashing = true) {
    super();
    if (hashing) this.hash = createHash('sha256');
  }

  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.hash?.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  /** The sha256 of everything that passed; valid once the stream has ended. */
  digest(): Buffer {
    if (!this.digestBuf) {
      this.digestBuf = this.hash ? this.hash.digest() : Buffer.alloc(32);
      this.digestHex = this.digestBuf.toString('hex');
    }
    return this.digestBuf;
  }

  get sha256(): string {
    this.digest();
    return this.digestHex!;
  }
}

/** Consume a stream and return its sha256 (hex). */
export async function sha256OfStream(stream: Readable): Promise<string> {
  const h = createHash('sha256');
  await pipeline(stream, new Writable({
    write(c, _e, cb) {
      h.update(c);
      cb();
    },
  }));
  return h.digest('hex');
}
