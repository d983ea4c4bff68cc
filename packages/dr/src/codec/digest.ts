// A pass-through stage that measures what flows through it (sha256 and byte count), as
// pgBackRest's result-only filters do, so no stage has to buffer an object to know its digest.
import { createHash, type Hash } from 'node:crypto';
import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export class DigestTap extends Transform {
  private hash: Hash = createHash('sha256');
  size = 0;
  private digestHex?: string;
  private digestBuf?: Buffer;

  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }

  /** The sha256 of everything that passed; valid once the stream has ended. */
  digest(): Buffer {
    if (!this.digestBuf) {
      this.digestBuf = this.hash.digest();
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
