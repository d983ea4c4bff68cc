// fsdr info: what a repository holds: the cluster it belongs to and the archived WAL per timeline.
import type { Config } from '../../config/load.js';
import { Repository } from '../../repository/repository.js';
import type { RepoInfo } from '../../repository/repo-info.js';
import type { ArchivedWal } from '../../repository/wal-archive.js';
import { summariseWal, type WalSummary } from './wal-summary.js';
import { timelineTree, type TimelineNode } from './timeline-tree.js';
import { recoveryWindows, type RecoveryWindow } from '../restore/recovery-window.js';

export interface BackupSummary {
  id: string;
  type: 'full' | 'incr';
  prior?: string;
  timeline: number;
  startTime: string;
  stopTime: string;
  startLsn: string;
  stopLsn: string;
  files: number;
  bytes: number;
  storedBytes: number;
  /** every backup whose bundles a restore of this one reads (itself included): retention keeps them */
  references: string[];
  /** block-level incremental: bytes per block, files mapped, and their bytes this backup stored */
  blocks?: { blockSize: number; files: number; newBytes: number };
}

export interface RepositoryReport {
  repository: string;
  location: string;
  cluster: RepoInfo;
  wal: WalSummary;
  /** every timeline with where it forked and whether it still continues past its children's forks */
  timelineTree: TimelineNode[];
  backups: BackupSummary[];
  /** manifests that exist but cannot be read (damaged or swapped): those backups are unusable */
  unreadableBackups: Array<{ id: string; problem: string }>;
  dumps: string[];
  recoveryWindows: RecoveryWindow[];
  /** For a replica: what it still lacks of the primary. */
  replication?: { missingObjects: number; lagSeconds: number };
}

export async function repositoryInfo(cfg: Config, name = 'primary', asOf?: Date): Promise<RepositoryReport> {
  const repo = await Repository.open(cfg, name, { asOf });
  try {
    const info = await repo.readInfo();
    const files: ArchivedWal[] = [];
    for await (const f of repo.wal.list()) files.push(f);
    const { manifests, unreadable } = await repo.backups.listReadable();
    const backups = manifests.map((m) => ({
      id: m.id, type: m.type, prior: m.prior, timeline: m.timeline, startTime: m.startTime, stopTime: m.stopTime,
      startLsn: m.startLsn, stopLsn: m.stopLsn, files: m.totals.files, bytes: m.totals.bytes, storedBytes: m.totals.storedBytes,
      references: m.references,
      ...(m.blockSize ? { blocks: { blockSize: m.blockSize, files: m.totals.blockFiles ?? 0, newBytes: m.totals.blockNewBytes ?? 0 } } : {}),
    }));
    const histories = await repo.wal.histories(files);
    return {
      repository: name, location: repo.storage.description, cluster: info, wal: summariseWal(files, info.walSegmentSize),
      timelineTree: timelineTree(histories, files, info.walSegmentSize),
      backups, unreadableBackups: unreadable.map((u) => ({ id: u.id, problem: u.error.message })), dumps: await repo.dumps.ids(), recoveryWindows: recoveryWindows(manifests, files),
      replication: name === 'primary' || asOf ? undefined : await replicationOf(cfg, name),
    };
  } catch (err) {
    throw await repo.explain(err);
  } finally {
    await repo.close();
  }
}

async function replicationOf(cfg: Config, name: string) {
  const { replicaLag } = await import('../replicate/replicate.js');
  const r = (await replicaLag(cfg)).find((x) => x.replica === name)!;
  return { missingObjects: r.missingObjects, lagSeconds: r.lagSeconds };
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

export function formatInfo(r: RepositoryReport): string {
  const lines = [
    `repository ${r.repository}: ${r.location}`,
    `  cluster   system identifier ${r.cluster.systemIdentifier}, PostgreSQL ${r.cluster.pgVersion}, key ${r.cluster.keyId}`,
  ];
  if (r.wal.timelines.length === 0) lines.push('  wal       none archived yet');
  for (const t of r.wal.timelines) {
    lines.push(`  wal tl ${t.timeline}  ${t.first} .. ${t.last}  ${t.segments} segments, ${mib(t.storedBytes)} stored, last at ${t.lastArchivedAt}`);
    for (const g of t.gaps) lines.push(`    GAP     ${g.from} .. ${g.to} missing`);
    for (const p of t.partial) lines.push(`    partial ${p}`);
    if (t.streamed) lines.push(`    streamed ${t.streamed.partial} (the archive's end, uploaded ${t.streamed.uploadedAt})`);
  }
  if (r.backups.length === 0) lines.push('  backups   none');
  for (const b of r.backups) {
    lines.push(`  backup    ${b.id}  ${b.type}${b.prior ? ` on ${b.prior}` : ''}  tl ${b.timeline}  ${b.startTime} .. ${b.stopTime}  ${mib(b.bytes)} (${mib(b.storedBytes)} stored)${blockLine(b)}`);
  }
  for (const u of r.unreadableBackups) lines.push(`  backup    ${u.id}  UNREADABLE: ${u.problem}`);
  if (r.dumps.length) lines.push(`  dumps     ${r.dumps.join(' ')}`);
  if (r.replication) lines.push(`  replica   ${r.replication.missingObjects} objects behind the primary, lag ${r.replication.lagSeconds.toFixed(0)}s`);
  for (const w of r.recoveryWindows) lines.push(`  PITR tl ${w.timeline}  ${w.earliest} .. ${w.latest}`);
  if (r.wal.historyFiles.length) lines.push(`  history   ${r.wal.historyFiles.join(' ')}`);
  for (const n of r.timelineTree.filter((x) => x.parent !== undefined || x.continues)) {
    const from = n.parent !== undefined ? `forked from tl ${n.parent} at ${n.forkLsn}` : 'root';
    lines.push(`  tl ${n.timeline}     ${from}${n.continues ? ', continues' : ''}${n.continues && r.timelineTree.filter((x) => x.continues).length > 1 ? ' (more than one timeline continues: restore needs --target-timeline)' : ''}`);
  }
  return lines.join('\n');
}

/** What an incremental's block maps saved, and which backups it reads: beside its summary line. */
function blockLine(b: BackupSummary): string {
  const reads = b.references.filter((r) => r !== b.id);
  const blocks = b.blocks && b.type === 'incr' ? `; ${b.blocks.files} files block-level (${b.blocks.blockSize / 1024} KiB blocks), ${mib(b.blocks.newBytes)} of their blocks stored` : '';
  return `${blocks}${reads.length ? `; reads ${reads.join(', ')}` : ''}`;
}
