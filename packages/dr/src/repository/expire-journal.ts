// The expire journal: each `fsdr expire` run that deletes writes expire/<run>.json (once, encoded
// and authenticated like every object) naming the delete markers it created. Retention purges
// versions only under its own markers: a marker someone else added (an attacker deleting a kept
// backup) must never be turned into a real loss once the lock lapses. Forging an entry needs the
// master key, which the storage credentials alone do not give.
import { randomBytes } from 'node:crypto';
import { IntegrityError } from '../errors.js';
import type { DeleteMarkerInfo } from '../storage/storage.js';
import { EXPIRE_JOURNAL_PREFIX, expireJournalKey } from './layout.js';
import type { ObjectStore } from './object-store.js';

interface JournalDoc {
  format: 1;
  run: string;
  markers: DeleteMarkerInfo[];
}

export const markerId = (key: string, versionId: string): string => `${key}\0${versionId}`;

export class ExpireJournal {
  constructor(private readonly objects: ObjectStore) {}

  async record(markers: DeleteMarkerInfo[], at = new Date()): Promise<void> {
    if (!markers.length) return;
    const run = `${at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
    const doc: JournalDoc = { format: 1, run, markers };
    await this.objects.putBuffer(expireJournalKey(run), Buffer.from(JSON.stringify(doc)));
  }

  /** Every marker fsdr expire created, as markerId()s. */
  async markers(): Promise<Set<string>> {
    const out = new Set<string>();
    for await (const o of this.objects.storage.list(EXPIRE_JOURNAL_PREFIX)) {
      const bytes = await this.objects.getBuffer(o.key);
      let doc: JournalDoc;
      try {
        doc = JSON.parse(bytes.toString('utf8'));
      } catch {
        throw new IntegrityError(o.key, 'is not valid JSON');
      }
      for (const m of doc.markers ?? []) out.add(markerId(m.key, m.versionId));
    }
    return out;
  }
}
