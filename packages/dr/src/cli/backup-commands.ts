// CLI verbs for physical backups: backup, restore, verify.
import { Command, Option } from 'commander';
import { FsdrError } from '../errors.js';
import type { RecoveryTarget } from '../commands/restore/select-backup.js';
type RestoreTimeline = number | 'latest' | 'current' | undefined;
import { action } from './exit.js';
import { AS_OF_HELP, cfgOf, parseAsOf, print } from './shared.js';
import { addRecoveryTargetOptions, port, seconds } from './options.js';

export function target(o: { targetTime?: string; targetLsn?: string; targetXid?: string; targetName?: string; targetImmediate?: boolean; latest?: boolean }): RecoveryTarget {
  const given = [o.targetTime, o.targetLsn, o.targetXid, o.targetName].filter((x) => x !== undefined).length + (o.latest ? 1 : 0) + (o.targetImmediate ? 1 : 0);
  if (given > 1) throw new FsdrError('FSDR_USAGE', 'give one recovery target: --target-time, --target-lsn, --target-xid, --target-name, --target-immediate or --latest', { exitCode: 2 });
  if (o.targetImmediate) return { kind: 'immediate' };
  if (o.targetTime !== undefined) return { kind: 'time', value: o.targetTime };
  if (o.targetLsn !== undefined) {
    if (!/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(o.targetLsn)) throw new FsdrError('FSDR_USAGE', `--target-lsn ${o.targetLsn} is not an LSN (like 0/3000060)`, { exitCode: 2 });
    return { kind: 'lsn', value: o.targetLsn };
  }
  if (o.targetXid !== undefined) {
    if (!/^\d+$/.test(o.targetXid)) throw new FsdrError('FSDR_USAGE', `--target-xid ${o.targetXid} is not a transaction id`, { exitCode: 2 });
    return { kind: 'xid', value: o.targetXid };
  }
  if (o.targetName !== undefined) return { kind: 'name', value: o.targetName };
  return { kind: 'latest' };
}

export function parseSet(v: string, prev: Record<string, string>): Record<string, string> {
  const i = v.indexOf('=');
  if (i < 1) throw new FsdrError('FSDR_USAGE', `--set ${v}: expected name=value`, { exitCode: 2 });
  return { ...prev, [v.slice(0, i)]: v.slice(i + 1) };
}

export function addBackupCommands(program: Command): void {
  program
    .command('backup')
    .description('take a physical base backup of the running cluster into the primary repository')
    .addOption(new Option('--type <type>', 'full, or incr (only files changed since the previous backup; of large relation files only the changed blocks)').choices(['full', 'incr']).default('full'))
    .option('--json', 'print the manifest summary as JSON')
    .addHelpText('after', '\nExamples:\n  fsdr backup\n  fsdr backup --type incr --json\n')
    .action(action(async (o: { type: 'full' | 'incr'; json?: boolean }, cmd: Command) => {
      const cfg = await cfgOf(cmd);
      const { runBackup } = await import('../commands/backup/backup.js');
      const m = await runBackup(cfg, { type: o.type, processes: cfg.backup.processes, bundleBytes: cfg.backup.bundleSizeMiB * 1048576 });
      const summary = { id: m.id, type: m.type, prior: m.prior, timeline: m.timeline, startLsn: m.startLsn, stopLsn: m.stopLsn, startTime: m.startTime, stopTime: m.stopTime, ...m.totals };
      print(!!o.json, summary, () => `backup ${m.id} (${m.type}) complete: ${m.totals.files} files, ${(m.totals.bytes / 1048576).toFixed(1)} MiB, ${(m.totals.storedBytes / 1048576).toFixed(1)} MiB stored; WAL ${m.startWal}..${m.stopWal}`);
    }));

  addRecoveryTargetOptions(
    program
      .command('restore')
      .description('provision a new PostgreSQL instance from the repository and recover it to a target')
      .requiredOption('--pgdata <dir>', 'data directory of the new instance (must be empty or absent)')
      .option('--port <n>', 'port of the new instance', port, 5433),
  )
    .option('--as-of <time>', AS_OF_HELP + '; the WAL is fetched as of it too')
    .option('--no-start', 'write the data directory and recovery settings, but do not start the instance')
    .option('--archive', 'keep the source\'s archiving on: only for the instance that becomes the new primary (default: archive_mode = off, so a copy never writes into the repository)')
    .addOption(new Option('--archive-off', 'archive_mode = off (the default; kept for scripts)').hideHelp())
    .option('--set <name=value>', 'extra postgresql.conf setting for the new instance (repeatable)', parseSet, {})
    .option('--timeout <seconds>', 'how long to wait for recovery', seconds, 3600)
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  fsdr restore --pgdata /var/lib/postgresql/15/restored --port 5433 --target-time 2026-11-27T14:05:00Z\n  fsdr restore --pgdata /srv/pg-copy --latest --json\n  fsdr restore --pgdata /srv/pg-new --latest --target-timeline 1 --archive   # the new primary\n')
    .action(action(async (o: Record<string, unknown>, cmd: Command) => {
      const cfg = await cfgOf(cmd);
      const { runRestore } = await import('../commands/restore/restore.js');
      const r = await runRestore(cfg, {
        pgdata: o.pgdata as string, port: o.port as number, target: target(o), backup: o.backup as string | undefined,
        start: o.start as boolean, archive: !!o.archive && !o.archiveOff, set: o.set as Record<string, string>,
        timeline: o.targetTimeline as RestoreTimeline, acceptGap: !!o.acceptGap,
        processes: cfg.backup.processes, timeoutMs: (o.timeout as number) * 1000, repository: o.repo as string,
        asOf: parseAsOf(o.asOf as string | undefined),
      });
      print(!!o.json, r, () => r.recoveredTo
        ? `restored backup ${r.backup} into ${r.pgdata}, port ${r.port}: recovered to ${r.recoveredTo.time ?? '(no transaction replayed)'}, LSN ${r.recoveredTo.lsn}, timeline ${r.recoveredTo.timeline}, in ${r.seconds.total.toFixed(1)}s (files ${r.seconds.files.toFixed(1)}s, recovery ${r.seconds.recovery.toFixed(1)}s)`
        : `restored backup ${r.backup} into ${r.pgdata} (not started) in ${r.seconds.total.toFixed(1)}s; start it with pg_ctl -D ${r.pgdata} start`);
    }));

  program
    .command('verify')
    .description('re-read every object of a backup (or all backups, all WAL and all dumps) and report what is missing or corrupt')
    .option('--backup <id>', 'only this backup and the WAL it needs')
    .option('--repo <name>', 'repository to verify', 'primary')
    .option('--as-of <time>', AS_OF_HELP)
    .option('--immutability', 'instead: check every object carries the configured Object Lock retention')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExamples:\n  fsdr verify\n  fsdr verify --backup 20261127T030000Z-F --json\n  fsdr verify --immutability --repo standby\n  fsdr verify --as-of 2026-11-27T03:00:00Z\n')
    .action(action(async (o: { backup?: string; repo: string; immutability?: boolean; asOf?: string; json?: boolean }, cmd: Command) => {
      if (o.immutability) {
        const { verifyImmutability } = await import('../commands/verify/immutability.js');
        const r = await verifyImmutability(await cfgOf(cmd), o.repo);
        print(!!o.json, r, () => [
          `checked ${r.checked} objects of repository ${r.repository}`,
          ...r.insufficient.map((x) => `NOT LOCKED ${x.key}: ${x.problem}`),
          r.insufficient.length ? `${r.insufficient.length} object(s) without a sufficient lock` : 'every object is locked',
        ].join('\n'));
        if (r.insufficient.length) process.exitCode = 1;
        return;
      }
      const { runVerify } = await import('../commands/verify/verify.js');
      const r = await runVerify(await cfgOf(cmd), { backup: o.backup, repository: o.repo, asOf: parseAsOf(o.asOf) });
      print(!!o.json, r, () => [
        `verified ${r.backups.length} backup(s), ${r.dumps.length} dump(s), ${r.objectsChecked} objects, ${(r.bytesChecked / 1048576).toFixed(1)} MiB, ${r.walChecked} WAL files`,
        ...r.faults.map((f) => `FAULT ${f.object}: ${f.problem}`),
        ...r.leftovers.map((l) => `LEFTOVER ${l.kind} ${l.name}: ${l.objects.length} object(s), ${l.bytes} bytes, last written ${l.newest.toISOString()} (fsdr expire removes it once no writer can own it)`),
        ...(r.tampering ? [`TAMPERING ${r.tampering.summary} (hint: ${r.tampering.hint})`] : []),
        r.faults.length ? `${r.faults.length} fault(s)` : 'no faults',
      ].join('\n'));
      if (r.faults.length) process.exitCode = 1;
    }));
}

export function addDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the disaster-recovery story end to end on a local stack: archive, back up, lose the database, restore to the moment before, measure RPO and RTO')
    .option('--dir <dir>', 'work in this directory and keep it (default: a temporary directory, removed afterwards)')
    .option('--keep', 'keep the temporary directory')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExample:\n  npx fsdr demo\n')
    .action(action(async (o: { dir?: string; keep?: boolean; json?: boolean }) => {
      const { runDemo, formatDemo } = await import('../commands/demo/demo.js');
      const r = await runDemo({ dir: o.dir, keep: o.keep, say: (l) => !o.json && process.stdout.write(l + '\n') });
      print(!!o.json, r, () => formatDemo(r));
    }));
}
