// fsdr verify: re-read every object of a backup (or all backups, all WAL and all dumps) and the
// WAL it needs, through authentication and checksums, and report what is missing or corrupt.
// Objects are streamed (memory stays bounded); a WAL segment's first page must match its name and
// a dump's content its manifest, which catches even format 1 objects copied under another name.
import { BundleSplitter, checkOnly } from '../../repository/bundle-reader.js';
import type { Config } from '../../config/load.js';
import { describeError, FsdrError, IntegrityError } from '../../errors.js';
import { parseWalSegmentHeader, segmentHeaderProblem, WAL_HEADER_BYTES } from '../../postgres/wal-header.js';
import { parseWalName, segmentFromNumber, segmentNumber, type WalName } from '../../postgres/wal-name.js';
import type { RepoInfo } from '../../repository/repo-info.js';
import { backupBlockMapKey, backupBundleKey, walKey } from '../../repository/layout.js';
import { BLOCK_DIGEST_BYTES } from '../../repository/block-map.js';
import type { BackupManifest, ManifestFile } from '../../repository/manifest.js';
import { Repository } from '../../repository/repository.js';
import type { ArchivedWal } from '../../repository/wal-archive.js';
import { summariseWal } from '../info/wal-summary.js';
import { findLeftovers, type Leftover } from '../../repository/leftovers.js';
import { describeScan, suspicious, undeleteHint, type VersionScan } from '../../repository/tampering.js';

export interface VerifyFault {
  object: string;
  problem: string;
}

export interface VerifyReport {
  backups: string[];
  dumps: string[];
  objectsChecked: number;
  bytesChecked: number;
  walChecked: number;
  faults: VerifyFault[];
  /** debris of killed or failed runs (temp files, backups without a manifest): never restorable */
  leftovers: Leftover[];
  /** Versioned repositories: writes fsdr did not make (overwrites, foreign delete markers). */
  tampering?: VersionScan & { summary: string; hint: string };
}

async function verifyBundle(repo: Repository, key: string, entries: ManifestFile[], report: VerifyReport): Promise<void> {
  const splitter = new BundleSplitter(key, entries, {
    ...checkOnly,
    data: async (_f, bytes) => {
      report.bytesChecked += bytes.length;
    },
  });
  await repo.objects.readInto(key, (plain) => splitter.write(plain));
  await splitter.end();
}

/** Read a WAL file through authentication, keeping its first bytes to check a segment's page header. */
async function verifyWal(repo: Repository, key: string, w: WalName, info: RepoInfo): Promise<void> {
  let head = Buffer.alloc(0);
  for await (const c of await repo.objects.open(key)) {
    if (head.length < WAL_HEADER_BYTES) head = Buffer.concat([head, (c as Buffer).subarray(0, WAL_HEADER_BYTES - head.length)]);
  }
  const problem = w.kind === 'segment' ? segmentHeaderProblem(w, parseWalSegmentHeader(head), info) : undefined;
  if (problem) throw new IntegrityError(key, `holds ${problem}`);
}

async function verifyDumps(repo: Repository, report: VerifyReport): Promise<void> {
  for (const id of await repo.dumps.ids()) {
    report.dumps.push(id);
    let m: Awaited<ReturnType<typeof repo.dumps.read>> | undefined;
    await check(report, `dumps/${id}/manifest.json`, async () => {
      m = await repo.dumps.read(id);
    });
    for (const o of m ? [m.globals, ...m.databases] : []) {
      await check(report, o.key, async () => {
        for await (const c of await repo.objects.openExpected(o.key, o)) report.bytesChecked += (c as Buffer).length;
      });
    }
  }
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
    const info = await repo.readInfo();
    const ids = await repo.backups.ids();
    if (opts.backup && !ids.includes(opts.backup)) {
      throw new FsdrError('FSDR_BACKUP_UNKNOWN', `no complete backup ${opts.backup}`, { hint: `backups: ${ids.join(', ') || 'none'}` });
    }
    const report: VerifyReport = { backups: [], dumps: [], objectsChecked: 0, bytesChecked: 0, walChecked: 0, faults: [], leftovers: [] };
    const bundlesDone = new Set<string>();
    const mapsDone = new Set<string>();
    const walDone = new Set<string>();
    for (const id of opts.backup ? [opts.backup] : ids) {
      report.backups.push(id);
      let m: BackupManifest | undefined;
      let digest = '';
      await check(report, `backups/${id}/manifest.json`, async () => {
        ({ manifest: m, sha256: digest } = await repo.backups.readWithDigest(id));
      });
      // What listings (and so restore) choose by must describe this manifest exactly.
      if (m) await check(report, `backups/${id}/summary.json`, () => repo.backups.checkSummary(id, digest));
      if (!m) continue;
      const groups = new Map<string, ManifestFile[]>();
      for (const f of m.files) {
        const key = backupBundleKey(f.backup, f.bundle);
        const entries = groups.get(key);
        if (entries) entries.push(f);
        else groups.set(key, [f]);
      }
      for (const [key, entries] of groups) {
        if (bundlesDone.has(key)) continue;
        bundlesDone.add(key);
        await check(report, key, () => verifyBundle(repo, key, entries, report));
      }
      // Block maps: not needed to restore, but the next incremental reads them (a damaged one
      // costs a whole copy of its files there): each must be whole and hold what points into it.
      const maps = new Map<string, number>();
      for (const f of m.files) {
        if (!f.blockMap || !m.blockSize) continue;
        const key = backupBlockMapKey(f.blockMap.backup, f.blockMap.bundle);
        maps.set(key, Math.max(maps.get(key) ?? 0, f.blockMap.first + Math.ceil(f.size / m.blockSize)));
      }
      for (const [key, need] of maps) {
        if (mapsDone.has(key)) continue;
        mapsDone.add(key);
        await check(report, key, async () => {
          const digests = (await repo.objects.getBuffer(key)).length / BLOCK_DIGEST_BYTES;
          if (digests < need) throw new IntegrityError(key, `holds ${digests} block digests; the manifest points at ${need}`);
        });
      }
      for (const seg of walNeeded(m)) {
        const w = parseWalName(seg)!;
        const key = walKey(w);
        if (walDone.has(key)) continue;
        walDone.add(key);
        report.walChecked++;
        await check(report, key, () => verifyWal(repo, key, w, info));
      }
    }
    if (!opts.backup) {
      // A hole inside a timeline breaks every recovery that has to cross it: a fault, not a detail.
      const all: ArchivedWal[] = [];
      for await (const w of repo.wal.list()) all.push(w);
      const info = await repo.readInfo();
      for (const t of summariseWal(all, info.walSegmentSize).timelines) {
        for (const g of t.gaps) report.faults.push({ object: `wal timeline ${t.timeline}`, problem: `segments ${g.from}${g.to !== g.from ? `..${g.to}` : ''} are missing (a hole in the archive: recovery stops before it)` });
      }
      // The weekly verification: every archived WAL file, not only what backups start from.
      for (const w of all) {
        if (walDone.has(w.key)) continue;
        walDone.add(w.key);
        report.walChecked++;
        await check(report, w.key, () => verifyWal(repo, w.key, w, info));
      }
      await verifyDumps(repo, report);
      report.leftovers = await findLeftovers(repo.storage);
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
