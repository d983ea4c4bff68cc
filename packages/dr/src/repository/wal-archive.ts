// The WAL archive of a repository: push one WAL file, fetch one back, list what is there.
// Idempotency rules (as pgBackRest's archive-push): the same name with the same content is
// already archived (success); the same name with other content is a split brain (refuse, keep both).
import { stat } from 'node:fs/promises';
import { sha256OfFile } from '../codec/digest.js';
import { WalDuplicateError } from '../errors.js';
import { parseWalName, streamPartialName, type WalName } from '../postgres/wal-name.js';
import { ObjectExistsError, ObjectNotFoundError } from '../storage/errors.js';
import type { ObjectInfo } from '../storage/storage.js';
import { parseWalKey, WAL_PREFIX, walKey } from './layout.js';
import { parseHistory, type HistoryEntry } from './timelines.js';
import type { ObjectStore } from './object-store.js';

export type PushOutcome = 'archived' | 'already-archived';

/** What the repository holds under a WAL name once push returned: the plaintext's SHA-256 and size. */
export interface StoredWal {
  sha256: string;
  size: number;
}

export interface ArchivedWal extends WalName {
  key: string;
  storedSize: number;
  lastModified: Date;
}

export class WalArchive {
  constructor(private readonly objects: ObjectStore) {}

  /** `stored` learns the digest of the bytes the repository now holds under this name. */
  async push(w: WalName, path: string, stored?: (s: StoredWal) => void): Promise<PushOutcome> {
    const key = walKey(w);
    // PostgreSQL pushes a segment again after a crash between archiving it and recording that; on
    // a local repository a stat says so before 16 MiB are compressed and encrypted for nothing.
    const known = this.objects.storage.features.localHead && (await this.objects.storage.head(key)) !== undefined;
    if (!known) {
      try {
        // Written once: the storage refuses an existing key (fs atomically, S3 by a conditional PUT).
        const r = await this.objects.putFile(key, path);
        stored?.({ sha256: r.sha256, size: r.size });
        return 'archived';
      } catch (err) {
        if (!(err instanceof ObjectExistsError)) throw err;
      }
    }
    const [mine, theirs] = await Promise.all([sha256OfFile(path), this.objects.sha256Of(key)]);
    if (mine !== theirs) throw new WalDuplicateError(w.name, this.objects.storage.description);
    stored?.({ sha256: theirs, size: (await stat(path)).size });
    return 'already-archived';
  }

  /**
   * Restore one WAL file to `dest` (whole or not at all, and only if `accept` does not throw on
   * the complete file; fsynced unless `durable: false`). Throws ObjectNotFoundError if absent.
   */
  async fetch(w: WalName, dest: string, accept?: (path: string) => Promise<void>, opts: { durable?: boolean } = {}): Promise<void> {
    await this.objects.getToFile(walKey(w), dest, accept, opts);
  }

  /**
   * Streaming: store the bytes received so far of `segment` as <segment>.stream.partial, replacing
   * the previous upload of it (the only WAL object that is ever replaced; full segments stay
   * create-only through push).
   */
  async putStreamPartial(segment: WalName, data: Buffer): Promise<StoredWal> {
    if (segment.kind !== 'segment') throw new Error(`${segment.name} is not a WAL segment name`);
    const r = await this.objects.replaceBuffer(walKey(parseWalName(streamPartialName(segment.name))!), data);
    return { sha256: r.sha256, size: r.size };
  }

  /** Once the segment is stored whole its streamed partial is stale: remove it (absent is fine). */
  async dropStreamPartial(segment: WalName): Promise<void> {
    await this.objects.storage.delete([walKey(parseWalName(streamPartialName(segment.name))!)]).catch((err: unknown) => {
      if (!(err instanceof ObjectNotFoundError)) throw err;
    });
  }

  /** Whether the segment has a streamed partial (what wal-fetch serves when the segment is absent). */
  async hasStreamPartial(segment: WalName): Promise<boolean> {
    return (await this.objects.storage.head(walKey(parseWalName(streamPartialName(segment.name))!))) !== undefined;
  }

  /** Like fetch, from the streamed partial of a segment. Throws ObjectNotFoundError if absent. */
  async fetchStreamPartial(segment: WalName, dest: string, accept?: (path: string) => Promise<void>): Promise<void> {
    await this.objects.getToFile(walKey(parseWalName(streamPartialName(segment.name))!), dest, accept);
  }

  async *list(): AsyncIterable<ArchivedWal> {
    for await (const o of this.objects.storage.list(WAL_PREFIX)) {
      const w = parseWalKey(o.key);
      if (w) yield { ...w, key: o.key, storedSize: o.size, lastModified: o.lastModified };
    }
  }

  /** Every archived timeline history file, parsed (authenticated like any other object). */
  async histories(files: Iterable<ArchivedWal>): Promise<Map<number, HistoryEntry[]>> {
    const out = new Map<number, HistoryEntry[]>();
    for (const f of files) {
      if (f.kind === 'history') out.set(f.timeline, parseHistory((await this.objects.getBuffer(f.key)).toString('utf8')));
    }
    return out;
  }

  async head(w: WalName): Promise<ObjectInfo | undefined> {
    return this.objects.storage.head(walKey(w));
  }
}
