// One run of a scheduled job per occurrence, whatever the number of agents: the agent that first
// writes leases/<job>/<occurrence> (a written-once object: link() on a directory, If-None-Match on
// S3) runs it; the others see the object exists and skip. No expiry, no clock agreement needed.
import { Readable } from 'node:stream';
import { ObjectExistsError } from '../storage/errors.js';
import type { Storage } from '../storage/storage.js';

export function leaseKey(job: string, occurrence: Date | string): string {
  const slot = typeof occurrence === 'string' ? occurrence : occurrence.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `leases/${job}/${slot}`;
}

/** True when this agent won the occurrence. */
export async function claim(storage: Storage, job: string, occurrence: Date | string, owner: string): Promise<boolean> {
  const body = Buffer.from(JSON.stringify({ owner, claimedAt: new Date().toISOString() }));
  try {
    await storage.put(leaseKey(job, occurrence), Readable.from([body]), { ifAbsent: true, unlocked: true });
    return true;
  } catch (err) {
    if (err instanceof ObjectExistsError) return false;
    throw err;
  }
}
