// What the console's PITR timeline draws, read from the agent's open repository: per timeline the
// archived WAL (first/last segment with their archive times, holes with the times around them), the
// recovery windows restore would accept, every backup (and unreadable manifest), the dumps, and
// where each replica stands: the newest primary segment per timeline it already holds.
import type { Config } from '../config/load.js';
import { describeError } from '../errors.js';
import { Repository } from '../repository/repository.js';
import type { ArchivedWal } from '../repository/wal-archive.js';
import { summariseWal } from '../commands/info/wal-summary.js';
import { timelineTree, type TimelineNode } from '../commands/info/timeline-tree.js';
import { recoveryWindows, type RecoveryWindow } from '../commands/restore/recovery-window.js';

export interface WalTimeline {
  timeline: number;
  first: string;
  last: string;
  segments: number;
  storedBytes: number;
  firstArchivedAt: string;
  lastArchivedAt: string;
  /** a hole: `from`..`to` missing; `after`/`before` are the archive times of the segments around it */
  gaps: Array<{ from: string; to: string; after?: string; before?: string }>;
  partial: string[];
}

export interface ReplicaPosition {
  name: string;
  /** per timeline, the newest primary segment the replica holds and when the primary archived it */
  timelines: Array<{ timeline: number; last: string; archivedAt: string }>;
  backups: number;
  error?: string;
}

export interface PitrView {
  checkedAt: string;
  repository: string;
  location: string;
  walSegmentSize: number;
  timelines: WalTimeline[];
  tree: TimelineNode[];
  recoveryWindows: RecoveryWindow[];
  backups: Array<{ id: string; type: string; prior?: string; timeline: number; startTime: string; stopTime: string; startLsn: string; stopLsn: string; files: number; bytes: number; storedBytes: number }>;
  unreadableBackups: Array<{ id: string; problem: string }>;
  dumps: Array<{ id: string; startTime?: string; stopTime?: string; pgDumpMajor?: number; databases?: Array<{ name: string; size: number; storedSize: number }>; problem?: string }>;
  replicas: ReplicaPosition[];
}

async function listWal(repo: Repository): Promise<ArchivedWal[]> {
  const files: ArchivedWal[] = [];
  for await (const f of repo.wal.list()) files.push(f);
  return files;
}

function walTimelines(files: ArchivedWal[], segSize: number): WalTimeline[] {
  const at = new Map(files.map((f) => [f.name, f.lastModified.toISOString()]));
  const segs = files.filter((f) => f.kind === 'segment');
  return summariseWal(files, segSize).timelines.map((t) => {
    const mine = segs.filter((s) => s.timeline === t.timeline).map((s) => s.lastModified.getTime());
    return {
      timeline: t.timeline, first: t.first, last: t.last, segments: t.segments, storedBytes: t.storedBytes,
      firstArchivedAt: new Date(Math.min(...mine)).toISOString(), lastArchivedAt: t.lastArchivedAt, partial: t.partial,
      // The segments around a hole are its neighbours by name: the one before `from`, after `to`.
      gaps: t.gaps.map((g) => ({ from: g.from, to: g.to, after: neighbour(segs, t.timeline, g.from, -1, at), before: neighbour(segs, t.timeline, g.to, 1, at) })),
    };
  });
}

function neighbour(segs: ArchivedWal[], tli: number, name: string, dir: -1 | 1, at: Map<string, string>): string | undefined {
  const names = segs.filter((s) => s.timeline === tli).map((s) => s.name).sort();
  const n = dir < 0 ? names.filter((x) => x < name).at(-1) : names.find((x) => x > name);
  return n ? at.get(n) : undefined;
}

async function replicaPosition(cfg: Config, name: string, primary: ArchivedWal[]): Promise<ReplicaPosition> {
  let repo: Repository | undefined;
  try {
    repo = await Repository.open(cfg, name);
    const held = new Set((await listWal(repo)).filter((f) => f.kind === 'segment').map((f) => f.name));
    const newest = new Map<number, ArchivedWal>();
    for (const f of primary) {
      if (f.kind !== 'segment' || !held.has(f.name)) continue;
      const cur = newest.get(f.timeline);
      if (!cur || f.name > cur.name) newest.set(f.timeline, f);
    }
    const timelines = [...newest.values()].sort((a, b) => a.timeline - b.timeline).map((f) => ({ timeline: f.timeline, last: f.name, archivedAt: f.lastModified.toISOString() }));
    return { name, timelines, backups: (await repo.backups.ids()).length };
  } catch (err) {
    return { name, timelines: [], backups: 0, error: describeError(err) };
  } finally {
    await repo?.close();
  }
}

export async function pitrView(cfg: Config, repo: Repository, now = new Date()): Promise<PitrView> {
  const info = await repo.readInfo();
  const files = await listWal(repo);
  const { manifests, unreadable } = await repo.backups.listReadable();
  const dumps: PitrView['dumps'] = [];
  for (const id of await repo.dumps.ids()) {
    try {
      const d = await repo.dumps.read(id);
      dumps.push({ id, startTime: d.startTime, stopTime: d.stopTime, pgDumpMajor: d.pgDumpMajor, databases: d.databases.map((x) => ({ name: x.name, size: x.size, storedSize: x.storedSize })) });
    } catch (err) {
      dumps.push({ id, problem: describeError(err) });
    }
  }
  const replicas: ReplicaPosition[] = [];
  for (const name of Object.keys(cfg.repositories).filter((n) => n !== repo.name)) replicas.push(await replicaPosition(cfg, name, files));
  return {
    checkedAt: now.toISOString(), repository: repo.name, location: repo.storage.description, walSegmentSize: info.walSegmentSize,
    timelines: walTimelines(files, info.walSegmentSize),
    tree: timelineTree(await repo.wal.histories(files), files, info.walSegmentSize),
    recoveryWindows: recoveryWindows(manifests, files),
    backups: manifests.map((m) => ({
      id: m.id, type: m.type, prior: m.prior, timeline: m.timeline, startTime: m.startTime, stopTime: m.stopTime,
      startLsn: m.startLsn, stopLsn: m.stopLsn, files: m.totals.files, bytes: m.totals.bytes, storedBytes: m.totals.storedBytes,
    })),
    unreadableBackups: unreadable.map((u) => ({ id: u.id, problem: u.error.message })),
    dumps, replicas,
  };
}
