// fsdr verify: re-read every object of a backup (or all backups) and the WAL it needs, through
// authentication and checksums, and report what is missing or corrupt.
import { checkOnly, readBundleFiles } from '../../repository/bundle-reader.js';
import type { Config } from '../../config/load.js';
import { describeError, FsdrError } from '../../errors.js';
import { parseWalName, segmentFromNumber, segmentNumber } from '../../postgres/wal-name.js';
import { backupBundleKey, walKey } from '../../repository/layout.js';
import type { BackupManifest, ManifestFile } from '../../repository/manifest.js';
import { Repository } from '../../repository/repository.js';
import { describeScan, suspicious, undeleteHint, type VersionScan } from '../../repository/tampering.js';

export interface VerifyFault {
  object: string;
  problem: string;
}

export interface VerifyReport {
  backups: string[];
  objectsChecked: number;
  bytesChecked: number;
  walChecked: number;
  faults: VerifyFault[];
  /** Versioned repositories: writes fsdr did not make (overwrites, foreign delete markers). */
  tampering?: VersionScan & { summary: string; hint: string };
}

async function verifyBundle(repo: Repository, key: string, entries: ManifestFile[], report: VerifyReport): Promise<void> {
  await readBundleFiles(key, await repo.objects.open(key), entries, {
    ...checkOnly,
    data: async (_f, bytes) => {
      report.bytesChecked += bytes.length;
    },
  });
}

async function check(report: VerifyReport, object: string, fn: () => Promise<void>): Promise<void> {
  report.objectsChecked++;
  try {
    await fn();
  } catch (err) {
    const msg = describeError(err);
    report.faults.push({ object, problem: msg.startsWith(`object ${object}`) ? msg.slice(`object ${object}: `.length) : msg });
  }
}

function walNeeded(m: BackupManifest): string[] {
  const first = segmentNumber(parseWalName(m.startWal)!, m.walSegmentSize);
  const last = segmentNumber(parseWalName(m.stopWal)!, m.walSegmentSize);
  const out: string[] = [];
  for (let n = first; n <= last; n++) out.push(segmentFromNumber(m.timeline, n, m.walSegmentSize));
  return out;
}

export async function runVerify(cfg: Config, opts: { backup?: string; repository?: string; asOf?: Date }): Promise<VerifyReport> {
  const repo = await Repository.open(cfg, opts.repository ?? 'primary', { asOf: opts.asOf });
  try {
    await repo.readInfo();
    const ids = await repo.backups.ids();
    if (opts.backup && !ids.includes(opts.backup)) {
      throw new FsdrError('FSDR_BACKUP_UNKNOWN', `no complete backup ${opts.backup}`, { hint: `backups: ${ids.join(', ') || 'none'}` });
    }
    const report: VerifyReport = { backups: [], objectsChecked: 0, bytesChecked: 0, walChecked: 0, faults: [] };
    const bundlesDone = new Set<string>();
    const walDone = new Set<string>();
    for (const id of opts.backup ? [opts.backup] : ids) {
      report.backups.push(id);
      let m: BackupManifest | undefined;
      await check(report, `backups/${id}/manifest.json`, async () => {
        m = await repo.backups.read(id);
      });
      if (!m) continue;
      const groups = new Map<string, ManifestFile[]>();
      for (const f of m.files) {
        const key = backupBundleKey(f.backup, f.bundle);
        groups.set(key, [...(groups.get(key) ?? []), f]);
      }
      for (const [key, entries] of groups) {
        if (bundlesDone.has(key)) continue;
        bundlesDone.add(key);
        await check(report, key, () => verifyBundle(repo, key, entries, report));
      }
      for (const seg of walNeeded(m)) {
        const key = walKey(parseWalName(seg)!);
        if (walDone.has(key)) continue;
        walDone.add(key);
        report.walChecked++;
        await check(report, key, async () => {
          await repo.objects.sha256Of(key);
        });
      }
    }
    if (!opts.backup) {
      // The weekly verification: every archived WAL file, not only what backups start from.
      for await (const w of repo.wal.list()) {
        if (walDone.has(w.key)) continue;
        walDone.add(w.key);
        report.walChecked++;
        await check(report, w.key, async () => {
          await repo.objects.sha256Of(w.key);
        });
      }
    }
    await checkVersions(repo, report);
    return report;
  } finally {
    await repo.close();
  }
}

/**
 * A delete marker hides an object from every listing, so reading cannot find it: compare the
 * versions. Deleted objects are faults; overwrites explain the authentication faults above.
 */
async function checkVersions(repo: Repository, report: VerifyReport): Promise<void> {
  const scan = await repo.scanVersions();
  if (!scan) return;
  for (const d of scan.foreignDeletes) {
    report.faults.push({ object: d.key, problem: `deleted outside fsdr retention (delete marker at ${d.at}); the version under it is intact: ${undeleteHint(repo.storage.description, d)}` });
  }
  if (scan.journalProblem) report.faults.push({ object: 'expire/', problem: `expire journal unreadable: ${scan.journalProblem}` });
  if (suspicious(scan)) {
    report.tampering = { ...scan, summary: `${describeScan(scan)}: this looks like tampering or ransomware`, hint: `read the repository as it was before: --as-of ${scan.lastGoodTime}` };
  }
}
