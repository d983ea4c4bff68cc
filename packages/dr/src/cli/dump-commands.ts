// CLI verbs for logical dumps: dump, restore-dump.
import type { Command } from 'commander';
import { action } from './exit.js';
import { cfgOf, print } from './shared.js';
import { isoTime } from './options.js';

const collect = (v: string, prev: string[]) => [...prev, v];

export function addDumpCommands(program: Command): void {
  program
    .command('dump')
    .description('logical backup: pg_dump of every database (custom format) and the globals, streamed into the repository')
    .option('--json', 'print the manifest as JSON')
    .addHelpText('after', '\nExample:\n  fsdr dump --json\n')
    .action(action(async (o: { json?: boolean }, cmd: Command) => {
      const { runDump } = await import('../commands/dump/dump.js');
      const m = await runDump(await cfgOf(cmd));
      print(!!o.json, m, () => `dump ${m.id} complete: ${m.databases.map((d) => `${d.name} (${(d.size / 1048576).toFixed(1)} MiB)`).join(', ')} + globals`);
    }));

  program
    .command('restore-dump')
    .description('restore a logical dump into an instance with pg_restore: everything, some databases, or some tables')
    .requiredOption('--connection <url>', 'the target instance (e.g. postgres://postgres@127.0.0.1:5433/postgres)')
    .option('--dump <id>', 'which dump (default: the newest)')
    .option('--database <name>', 'restore only this database (repeatable)', collect, [])
    .option('--table <name>', 'restore only this table (repeatable; with --database)', collect, [])
    .option('--repo <name>', 'repository to restore from', 'primary')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  fsdr restore-dump --connection postgres://postgres@127.0.0.1:5433/postgres\n  fsdr restore-dump --connection postgres://postgres@10.0.0.5/postgres --database featuresignals --table flags\n')
    .action(action(async (o: { connection: string; dump?: string; database: string[]; table: string[]; repo: string; json?: boolean }, cmd: Command) => {
      const { runRestoreDump } = await import('../commands/dump/restore-dump.js');
      const r = await runRestoreDump(await cfgOf(cmd), { connection: o.connection, dump: o.dump, databases: o.database, tables: o.table, repository: o.repo });
      print(!!o.json, r, () => `restored dump ${r.dump}: ${r.databases.join(', ')}`);
    }));
}

export function addReplicateCommand(program: Command): void {
  program
    .command('replicate')
    .description('copy everything new from the primary repository to each replica (or one), verifying every copy')
    .option('--repo <name>', 'only this replica')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  fsdr replicate --repo standby --json\n')
    .action(action(async (o: { repo?: string; json?: boolean }, cmd: Command) => {
      const { runReplicate } = await import('../commands/replicate/replicate.js');
      const r = await runReplicate(await cfgOf(cmd), o.repo);
      print(!!o.json, r, () => r.map((x) => `${x.replica}: copied ${x.copied} objects (${(x.bytes / 1048576).toFixed(1)} MiB), lag ${x.lagBeforeSeconds.toFixed(0)}s -> ${x.lagAfterSeconds.toFixed(0)}s`).join('\n'));
    }));
}

export function addExpireCommand(program: Command): void {
  program
    .command('expire')
    .description('apply retention: expire backups and dumps past retention.days and the WAL no kept backup needs')
    .option('--dry-run', 'show what would go and what stays; delete nothing')
    .option('--now <time>', 'evaluate the policy as of this time (ISO 8601 with a zone), e.g. to see what next week expires', isoTime)
    .option('--repo <name>', 'repository', 'primary')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  fsdr expire --dry-run\n  fsdr expire --json\n')
    .action(action(async (o: { dryRun?: boolean; now?: string; repo: string; json?: boolean }, cmd: Command) => {
      const { runExpire } = await import('../commands/expire/expire.js');
      const now = o.now ? new Date(o.now) : undefined;
      const r = await runExpire(await cfgOf(cmd), { dryRun: !!o.dryRun, now, repository: o.repo });
      print(!!o.json, r, () => [
        `${r.dryRun ? 'would expire' : 'expired'} (cutoff ${r.cutoff}): ${r.expireBackups.length} backup(s) ${r.expireBackups.join(' ')}, ${r.expireDumps.length} dump(s), ${r.expireWal.length} WAL file(s)`,
        `kept: ${r.keepBackups.length} backup(s) ${r.keepBackups.join(' ')}, ${r.keepDumps.length} dump(s)`,
        ...(r.pendingLocked.length ? [`${r.pendingLocked.length} locked version(s) hidden by delete markers, purged once their lock lapses (first: ${r.pendingLocked[0]!.key} until ${r.pendingLocked[0]!.retainUntil})`] : []),
        ...(r.purgedVersions ? [`purged ${r.purgedVersions} version(s) whose lock had lapsed`] : []),
        ...r.leftoversRemoved.map((l) => `${r.dryRun ? 'would remove' : 'removed'} leftover ${l.kind} ${l.name} (${l.objects.length} object(s), ${l.bytes} bytes)`),
        ...r.leftoversKept.map((l) => `kept leftover ${l.kind} ${l.name}: written ${l.newest.toISOString()}, a writer may still own it`),
        ...(r.deferredBy ? [`no backup expired: incremental backup ${r.deferredBy.join(' ')} is running`] : []),
        ...r.foreignDeletes.map((f) => `${f.alarm ? 'ALARM' : 'foreign'} ${f.key} deleted outside fsdr at ${f.at} (hint: ${f.hint})`),
        ...(r.alarms ? [`${r.alarms} object(s) retention keeps were deleted by someone else: never purged; restore them`] : []),
      ].join('\n'));
      if (r.alarms) process.exitCode = 1;
    }));
}

export function addAgentCommand(program: Command): void {
  program
    .command('agent')
    .description('run the backup policy: schedules (UTC cron), async WAL archiver, exposure monitor, /health /status /metrics')
    .addHelpText('after', '\nExample:\n  FSDR_CONFIG=/etc/fsdr.yaml FSDR_AGENT_TOKEN=... fsdr agent\n  curl -H "Authorization: Bearer $FSDR_AGENT_TOKEN" http://127.0.0.1:9187/status\n')
    .action(action(async (_o: unknown, cmd: Command) => {
      const { Agent } = await import('../agent/agent.js');
      const agent = new Agent(await cfgOf(cmd));
      const { url } = await agent.start();
      process.stderr.write(`fsdr agent listening on ${url}\n`);
      await new Promise<void>((resolve) => {
        const onSignal = (sig: string) => {
          process.stderr.write(`fsdr agent: ${sig}, finishing the running job (agent.stopTimeoutSeconds) then stopping\n`);
          void agent.stop().then((abandoned) => {
            if (abandoned.length) process.stderr.write(`fsdr agent: abandoned ${abandoned.join(', ')}\n`);
            resolve();
          });
        };
        process.once('SIGTERM', () => onSignal('SIGTERM'));
        process.once('SIGINT', () => onSignal('SIGINT'));
      });
    }));
}

export function addStreamCommand(program: Command): void {
  program
    .command('stream')
    .description('streaming archiving (archive.streaming): pg_receivewal on a replication slot, completed segments and the current partial into the repository, until SIGTERM')
    .addHelpText('after', '\nExample (fsdr.yaml: archive: { streaming: { enabled: true, partialSeconds: 2 } }):\n  FSDR_CONFIG=/etc/fsdr.yaml fsdr stream\n')
    .action(action(async (_o: unknown, cmd: Command) => {
      const { startStream } = await import('../commands/stream/stream.js');
      const cfg = await cfgOf(cmd);
      const s = await startStream(cfg);
      process.stderr.write(`fsdr stream: pg_receivewal into ${s.spool}, partial every ${cfg.archive.streaming.partialSeconds}s\n`);
      await new Promise<void>((resolve) => {
        const onSignal = () => void s.stop().then(resolve);
        process.once('SIGTERM', onSignal);
        process.once('SIGINT', onSignal);
      });
    }));
}
