// Copies a repository to a replica (a standby region's bucket, a customer's bucket, a directory).
// Objects are copied as stored (already encrypted), each checked by reading it back from the
// replica. Copies are written once and in dependency order — repo.json first, backup and dump
// manifests last — so a replica is a complete repository at every moment, and a copy killed
// half-way resumes where it stopped.
import { IntegrityError } from '../errors.js';
import { ObjectNotFoundError } from '../storage/errors.js';
import { REPO_INFO_KEY } from '../repository/layout.js';
import { DigestTap, sha256OfStream } from '../codec/digest.js';
import type { ObjectInfo, Storage } from '../storage/storage.js';

export interface ReplicationResult {
  replica: string;
  copied: number;
  bytes: number;
  skipped: number;
  /** listed on the primary, then gone before it was read (retention removed it meanwhile) */
  vanished: number;
  /** Age in seconds of the oldest primary object missing on the replica before this run (0 when in sync). */
  lagBeforeSeconds: number;
  lagAfterSeconds: number;
}

function order(key: string): number {
  if (key === REPO_INFO_KEY) return 0;
  if (key.endsWith('/manifest.json')) return 2;
  return 1;
}

export async function missingOn(primary: Storage, replica: Storage): Promise<ObjectInfo[]> {
  const have = new Set<string>();
  for await (const o of replica.list('')) have.add(o.key);
  const missing: ObjectInfo[] = [];
  // Leases coordinate the primary's agents and backups; copied, a running-backup lease would
  // never be removed on the replica and would hold its retention back.
  // Fences are written by each failover into every repository it reaches, never copied.
  for await (const o of primary.list('')) if (!have.has(o.key) && !o.key.startsWith('leases/') && !o.key.startsWith('fence/')) missing.push(o);
  return missing;
}

export function lagSeconds(missing: ObjectInfo[], now = Date.now()): number {
  if (!missing.length) return 0;
  return Math.max(0, (now - Math.min(...missing.map((o) => o.lastModified.getTime()))) / 1000);
}

export async function replicate(primary: Storage, replica: Storage, name: string, opts: { processes?: number } = {}): Promise<ReplicationResult> {
  const missing = await missingOn(primary, replica);
  const lagBefore = lagSeconds(missing);
  missing.sort((a, b) => order(a.key) - order(b.key) || (a.key < b.key ? -1 : 1));
  const result: ReplicationResult = { replica: name, copied: 0, bytes: 0, skipped: 0, vanished: 0, lagBeforeSeconds: lagBefore, lagAfterSeconds: 0 };
  const copyOne = async (o: ObjectInfo) => {
    const tap = new DigestTap();
    let src;
    try {
      src = await primary.get(o.key);
    } catch (err) {
      // Expired on the primary since the listing (another agent's expire): nothing to copy.
      if (err instanceof ObjectNotFoundError) {
        result.vanished++;
        return;
      }
      throw err;
    }
    src.on('error', (e) => tap.destroy(e));
    try {
      await replica.put(o.key, src.pipe(tap), { ifAbsent: true });
    } catch (err) {
      if ((err as { code?: string }).code === 'FSDR_OBJECT_EXISTS') {
        result.skipped++;
        return;
      }
      throw err;
    }
    // Read the copy back: what the replica stores must be byte for byte what the primary has.
    if ((await sha256OfStream(await replica.get(o.key))) !== tap.sha256) throw new IntegrityError(`${replica.description}/${o.key}`, 'copy differs from the primary');
    result.copied++;
    result.bytes += tap.bytes;
  };
  // Phases keep the order invariant: nothing of phase n+1 starts before phase n is complete.
  for (const phase of [0, 1, 2]) {
    const batch = missing.filter((o) => order(o.key) === phase);
    let next = 0;
    const worker = async () => {
      while (next < batch.length) await copyOne(batch[next++]!);
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.processes ?? 4, batch.length)) }, worker));
  }
  result.lagAfterSeconds = lagSeconds(await missingOn(primary, replica));
  return result;
}
