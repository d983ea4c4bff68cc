// A pass-through stage that measures what flows through it (sha256 and byte count), as
// pgBackRest's result-only filters do, so no stage has to buffer an object to know its digest.
import { createHash, type Hash } from 'node:crypto';
import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { open } from 'node:fs/promises';

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

/** The sha256 (hex) of a file, read through one reused 1 MiB buffer. */
export async function sha256OfFile(path: string): Promise<string> {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(1024 * 1024);
  const fh = await open(path, 'r');
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}
