// A pass-through stage that measures what flows through it (sha256 and byte count), as
// pgBackRest's result-only filters do, so no stage has to buffer an object to know its digest.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

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
