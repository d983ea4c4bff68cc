// fsdr info: what a repository holds: the cluster it belongs to and the archived WAL per timeline.
import type { Config } from '../../config/load.js';
import { Repository } from '../../repository/repository.js';
import type { RepoInfo } from '../../repository/repo-info.js';
import type { ArchivedWal } from '../../repository/wal-archive.js';
import { summariseWal, type WalSummary } from './wal-summary.js';
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
}

export interface RepositoryReport {
  repository: string;
  location: string;
  cluster: RepoInfo;
  wal: WalSummary;
  backups: BackupSummary[];
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
    const manifests = await repo.backups.list();
    const backups = manifests.map((m) => ({
      id: m.id, type: m.type, prior: m.prior, timeline: m.timeline, startTime: m.startTime, stopTime: m.stopTime,
      startLsn: m.startLsn, stopLsn: m.stopLsn, files: m.totals.files, bytes: m.totals.bytes, storedBytes: m.totals.storedBytes,
    }));
    return {
      repository: name, location: repo.storage.description, cluster: info, wal: summariseWal(files, info.walSegmentSize),
      backups, dumps: await repo.dumps.ids(), recoveryWindows: recoveryWindows(manifests, files),
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
  }
  if (r.backups.length === 0) lines.push('  backups   none');
  for (const b of r.backups) {
    lines.push(`  backup    ${b.id}  ${b.type}${b.prior ? ` on ${b.prior}` : ''}  tl ${b.timeline}  ${b.startTime} .. ${b.stopTime}  ${mib(b.bytes)} (${mib(b.storedBytes)} stored)`);
  }
  if (r.dumps.length) lines.push(`  dumps     ${r.dumps.join(' ')}`);
  if (r.replication) lines.push(`  replica   ${r.replication.missingObjects} objects behind the primary, lag ${r.replication.lagSeconds.toFixed(0)}s`);
  for (const w of r.recoveryWindows) lines.push(`  PITR tl ${w.timeline}  ${w.earliest} .. ${w.latest}`);
  if (r.wal.historyFiles.length) lines.push(`  history   ${r.wal.historyFiles.join(' ')}`);
  return lines.join('\n');
}
