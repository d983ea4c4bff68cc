// Splits a decoded bundle back into the files a manifest places in it (by offset and size),
// checking each file's sha256. Restore writes the pieces to disk; verify only checks them.
import { createHash, hash as digestOnce, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { IntegrityError } from '../errors.js';
import type { ManifestFile } from './manifest.js';

export interface BundleSink {
  begin(file: ManifestFile): Promise<void>;
  data(file: ManifestFile, bytes: Buffer): Promise<void>;
  end(file: ManifestFile): Promise<void>;
}

export const checkOnly: BundleSink = { begin: async () => {}, data: async () => {}, end: async () => {} };

/**
 * The splitting of a bundle's plaintext as it arrives, for a decoder that hands on reused buffers
 * (ObjectStore.readInto): `write` passes every byte to the sink before it resolves.
 */
export class BundleSplitter {
  private readonly entries: ManifestFile[];
  private pos = 0;
  private i = 0;
  /**
   * The file being split. A file (an incremental's run of blocks, most often) that arrives whole in
   * one chunk is hashed in one call: a Hash object per run, each with native state freed only when
   * V8 collects it, was ~1 KiB of native memory per run held between collections.
   */
  private current?: { file: ManifestFile; hash?: Hash; digest?: string; written: number };
  private started = false;

  constructor(private readonly key: string, files: ManifestFile[], private readonly sink: BundleSink) {
    this.entries = [...files].sort((a, b) => a.offset - b.offset);
  }

  private async finish(): Promise<void> {
    const { file, hash, digest } = this.current!;
    this.current = undefined;
    await this.sink.end(file);
    if ((digest ?? (hash ?? createHash('sha256')).digest('hex')) !== file.sha256) throw new IntegrityError(this.key, `file ${file.path} does not match its checksum`);
    this.i++;
  }

  /** Open (and, when empty, close) every file that starts at the current position. */
  private async advance(): Promise<void> {
    this.started = true;
    while (!this.current && this.i < this.entries.length && this.entries[this.i]!.offset <= this.pos) {
      const file = this.entries[this.i]!;
      await this.sink.begin(file);
      this.current = { file, written: 0 };
      if (file.size === 0) await this.finish();
    }
  }

  async write(chunk: Buffer): Promise<void> {
    if (!this.started) await this.advance();
    let off = 0;
    while (off < chunk.length) {
      const current = this.current;
      if (!current) {
        const nextStart = this.i < this.entries.length ? this.entries[this.i]!.offset : Infinity;
        const skip = Math.min(nextStart - this.pos, chunk.length - off);
        off += skip;
        this.pos += skip;
        await this.advance();
        continue;
      }
      const take = Math.min(current.file.size - current.written, chunk.length - off);
      const part = chunk.subarray(off, off + take);
      if (take === current.file.size) current.digest = digestOnce('sha256', part, 'hex');
      else (current.hash ??= createHash('sha256')).update(part);
      await this.sink.data(current.file, part);
      current.written += take;
      off += take;
      this.pos += take;
      if (current.written === current.file.size) {
        await this.finish();
        await this.advance();
      }
    }
  }

  /** The bundle's plaintext has ended (and was verified): every file must be complete. */
  async end(): Promise<void> {
    if (!this.started) await this.advance();
    if (this.current || this.i < this.entries.length) throw new IntegrityError(this.key, `ends before file ${(this.current?.file ?? this.entries[this.i]!).path}`);
  }
}

export async function readBundleFiles(key: string, stream: Readable, files: ManifestFile[], sink: BundleSink): Promise<void> {
  const s = new BundleSplitter(key, files, sink);
  for await (const chunk of stream) await s.write(chunk as Buffer);
  await s.end();
}
