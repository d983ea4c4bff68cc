// Golden evaluation captures in the repository: drills/golden/<id>.json, one object per capture,
// written once through the codec (authenticated, bound to its key, locked on an Object Lock
// bucket). The id starts with the capture's UTC time (floored to the second), so listing alone
// orders captures and narrows "the newest at or before T" to one or two reads.
import { randomBytes } from 'node:crypto';
import type { GoldenRecord } from '@featuresignals/server';
import { IntegrityError } from '../errors.js';
import { GOLDEN_PREFIX, goldenCaptureKey, parseGoldenCaptureKey } from './layout.js';
import type { ObjectStore } from './object-store.js';

export interface GoldenCapture {
  format: 1;
  id: string;
  /** the evaluation time of the record (its asOf) */
  capturedAt: string;
  /** the FeatureSignals server the evaluations went through */
  server: string;
  /** pg_current_wal_lsn() read right after the capture, so the captured state is at or before it */
  cluster?: { systemIdentifier: string; lsn: string; timeline: number; inRecovery: boolean };
  envs: Record<string, { version: number; dbid: string; rulesetSha256: string }>;
  fingerprint: string;
  record: GoldenRecord;
}

const ID = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-[0-9a-f]+$/;

/** <UTC capture time>-<random>: sorts by time; the random part keeps two captures in a second apart. */
export function newGoldenId(at: Date): string {
  return `${at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}

/** The capture time an id carries (to the second, floored), or undefined for a foreign name. */
export function goldenTimeOf(id: string): Date | undefined {
  const m = ID.exec(id);
  return m ? new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : undefined;
}

export class GoldenCatalog {
  constructor(private readonly objects: ObjectStore) {}

  async write(c: GoldenCapture): Promise<void> {
    await this.objects.putBuffer(goldenCaptureKey(c.id), Buffer.from(JSON.stringify(c)));
  }

  /** Capture ids, oldest first. */
  async ids(): Promise<string[]> {
    const ids: string[] = [];
    for await (const o of this.objects.storage.list(GOLDEN_PREFIX)) {
      const id = parseGoldenCaptureKey(o.key);
      if (id && goldenTimeOf(id)) ids.push(id);
    }
    return ids.sort();
  }

  async read(id: string): Promise<GoldenCapture> {
    const key = goldenCaptureKey(id);
    let c: GoldenCapture;
    try {
      c = JSON.parse((await this.objects.getBuffer(key)).toString('utf8')) as GoldenCapture;
    } catch (err) {
      if (err instanceof SyntaxError) throw new IntegrityError(key, 'is not valid JSON');
      throw err;
    }
    if (c.id !== id) throw new IntegrityError(key, `holds golden capture ${c.id} (moved or replaced)`);
    return c;
  }

  /**
   * The newest capture taken at or before `t` (what `recover` compares a restore to T against).
   * Ids floor the time to the second, so only the newest candidates need reading.
   */
  async newestAtOrBefore(t: Date): Promise<GoldenCapture | undefined> {
    const candidates = (await this.ids()).filter((id) => goldenTimeOf(id)!.getTime() <= t.getTime()).reverse();
    for (const id of candidates) {
      const c = await this.read(id);
      if (Date.parse(c.capturedAt) <= t.getTime()) return c;
    }
    return undefined;
  }
}
