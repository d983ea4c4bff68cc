// A stage for objects whose content a manifest recorded (dumps): it ends only if the bytes match
// the record, and holds back the last chunk until they do, so a consumer (pg_restore) never sees
// a complete archive that is not the one the manifest names.
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { IntegrityError } from '../errors.js';

export interface ExpectedContent {
  size: number;
  sha256: string;
}

export class ExpectContent extends Transform {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private held?: Buffer;

  constructor(private readonly key: string, private readonly expected: ExpectedContent) {
    super();
  }

  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    const prev = this.held;
    this.held = chunk;
    cb(null, prev);
  }

  override _flush(cb: TransformCallback): void {
    const sha256 = this.hash.digest('hex');
    if (this.bytes !== this.expected.size || sha256 !== this.expected.sha256) {
      return cb(new IntegrityError(this.key, `content differs from its manifest (${this.bytes} bytes, sha256 ${sha256.slice(0, 16)}…; the manifest records ${this.expected.size} bytes, ${this.expected.sha256.slice(0, 16)}…)`, {
        hint: 'the object was replaced or mis-copied; restore it from a replica repository or use another dump',
      }));
    }
    cb(null, this.held);
  }
}
