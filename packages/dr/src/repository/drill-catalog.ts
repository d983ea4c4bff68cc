// Drill evidence in the repository: drills/<id>.json, one object per drill run, written once
// through the codec like every object (so it is authenticated, bound to its key, and locked on an
// Object Lock bucket). The id starts with the run's UTC start time and names the drill kind, so
// listing alone orders runs and finds the newest of a kind without reading them.
import { randomBytes } from 'node:crypto';
import type { ObjectivesReport } from '../drills/objectives.js';
import { IntegrityError } from '../errors.js';
import { DRILL_PREFIX, drillEvidenceKey, parseDrillEvidenceKey } from './layout.js';
import type { ObjectStore } from './object-store.js';

// recover: a real recovery's report, kept as evidence of the same shape (steps, timings, failure).
// restore: the quarterly restore drill, recover in isolation (no switch, everything removed after).
// failover: a regional failover's report (plan, fence, promote, stack checks, DNS), the same shape.
// regional: the biannual failover drill (writer, disaster, failover, serve, failback, measured RPO/RTO).
// instance: `fsdr drill instance`, the Patroni leader killed under a writer (detection, promotion,
// client reconnect, /ready, commits lost).
export type DrillKind = 'verify' | 'tabletop' | 'recover' | 'restore' | 'failover' | 'regional' | 'instance';
export const DRILL_KINDS: DrillKind[] = ['verify', 'tabletop', 'recover', 'restore', 'failover', 'regional', 'instance'];

export interface DrillStep {
  name: string;
  ok: boolean;
  seconds: number;
  detail: unknown;
}

export interface DrillEvidence {
  format: 1;
  kind: DrillKind;
  id: string;
  startTime: string;
  endTime: string;
  host: string;
  repository: string;
  fsdrVersion: string;
  /** tabletop: who took part; empty when the agent prepared it and nobody has held it yet */
  participants?: string[];
  /** of the restored instance; undefined when no instance came up */
  postgresVersion?: string;
  steps: DrillStep[];
  /** what the drill checked and found, step by step (verify report summary, tables, recovered point) */
  checks: Record<string, unknown>;
  /** seconds from the start of the restore to the restored instance passing pg_amcheck */
  rtoSeconds?: number;
  /** age of the newest archived WAL the restore reached, at the moment the restore ended */
  rpoExposureSeconds?: number;
  /** measured by the drill writer: its last acknowledged commit on the source to the recovered point */
  rpoSeconds?: number;
  /** the measured RTO/RPO against the scenario's objectives (met / not met / unavailable) */
  objectives?: ObjectivesReport;
  result: 'ok' | 'failed';
  failure?: { step: string; object?: string; message: string };
}

/** <UTC start>-<kind>-<random>: sorts by time; the random part keeps two runs in a second apart. */
export function newDrillId(kind: DrillKind, at: Date): string {
  return `${at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${kind}-${randomBytes(3).toString('hex')}`;
}

export function drillKindOf(id: string): DrillKind | undefined {
  const k = /^\d{8}T\d{6}Z-([a-z]+)-[0-9a-f]+$/.exec(id)?.[1];
  return DRILL_KINDS.find((x) => x === k);
}

/** The start time an id carries. */
export function drillStartOf(id: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(id)!;
  return new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
}

export class DrillCatalog {
  constructor(private readonly objects: ObjectStore) {}

  async write(e: DrillEvidence): Promise<void> {
    await this.objects.putBuffer(drillEvidenceKey(e.id), Buffer.from(JSON.stringify(e, null, 2)));
  }

  /** Evidence ids, oldest first; only those of `kind` when given. */
  async ids(kind?: DrillKind): Promise<string[]> {
    const ids: string[] = [];
    for await (const o of this.objects.storage.list(DRILL_PREFIX)) {
      const id = parseDrillEvidenceKey(o.key);
      if (id && drillKindOf(id) && (!kind || drillKindOf(id) === kind)) ids.push(id);
    }
    return ids.sort();
  }

  async read(id: string): Promise<DrillEvidence> {
    const key = drillEvidenceKey(id);
    let e: DrillEvidence;
    try {
      e = JSON.parse((await this.objects.getBuffer(key)).toString('utf8')) as DrillEvidence;
    } catch (err) {
      if (err instanceof SyntaxError) throw new IntegrityError(key, 'is not valid JSON');
      throw err;
    }
    // Format 2 objects are bound to their key already; this also catches a format 1 copy.
    if (e.id !== id) throw new IntegrityError(key, `holds the evidence of drill ${e.id} (moved or replaced)`);
    return e;
  }

  /**
   * The newest run of a kind and the newest successful one. Reads newest first and stops at the
   * first success (at most `limit` reads), so a long history costs one or two reads.
   */
  async latest(kind: DrillKind, limit = 60): Promise<{ last?: DrillEvidence; lastOk?: DrillEvidence }> {
    const ids = (await this.ids(kind)).reverse().slice(0, limit);
    let last: DrillEvidence | undefined;
    for (const id of ids) {
      const e = await this.read(id);
      last ??= e;
      if (e.result === 'ok') return { last, lastOk: e };
    }
    return { last };
  }
}
