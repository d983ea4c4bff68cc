// Splits a decoded bundle back into the files a manifest places in it (by offset and size),
// checking each file's sha256. Restore writes the pieces to disk; verify only checks them.
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { IntegrityError } from '../errors.js';
import type { ManifestFile } from './manifest.js';

export interface BundleSink {
  begin(file: ManifestFile): Promise<void>;
  data(file: ManifestFile, bytes: Buffer): Promise<void>;
  end(file: ManifestFile): Promise<void>;
}

export const checkOnly: BundleSink = { begin: async () => {}, data: async () => {}, end: async () => {} };

export async function readBundleFiles(key: string, stream: Readable, files: ManifestFile[], sink: BundleSink): Promise<void> {
  const entries = [...files].sort((a, b) => a.offset - b.offset);
  let pos = 0;
  let i = 0;
  let current: { file: ManifestFile; hash: Hash; written: number } | undefined;

  const finish = async () => {
    const { file, hash } = current!;
    current = undefined;
    await sink.end(file);
    if (hash.digest('hex') !== file.sha256) throw new IntegrityError(key, `file ${file.path} does not match its checksum`);
    i++;
  };
  // Open (and, when empty, close) every file that starts at the current position.
  const advance = async () => {
    while (!current && i < entries.length && entries[i]!.offset <= pos) {
      const file = entries[i]!;
      await sink.begin(file);
      current = { file, hash: createHash('sha256'), written: 0 };
      if (file.size === 0) await finish();
    }
  };

  await advance();
  for await (const raw of stream) {
    const chunk = raw as Buffer;
    let off = 0;
    while (off < chunk.length) {
      if (!current) {
        const nextStart = i < entries.length ? entries[i]!.offset : Infinity;
        const skip = Math.min(nextStart - pos, chunk.length - off);
        off += skip;
        pos += skip;
        await advance();
        continue;
      }
      const take = Math.min(current.file.size - current.written, chunk.length - off);
      const part = chunk.subarray(off, off + take);
      current.hash.update(part);
      await sink.data(current.file, part);
      current.written += take;
      off += take;
      pos += take;
      if (current.written === current.file.size) {
        await finish();
        await advance();
      }
    }
  }
  if (current || i < entries.length) throw new IntegrityError(key, `ends before file ${(current?.file ?? entries[i]!).path}`);
}
