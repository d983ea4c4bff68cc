// The fsdr command line: commander wiring only. Each verb calls into commands/ and prints;
// errors become one line and an exit code in exit.ts.
import { setPriority } from 'node:os';
import { Command } from 'commander';
import { action, fail, RESTORE_COMMAND_FATAL } from './exit.js';
import { addBackupCommands, addDemoCommand } from './backup-commands.js';
import { AS_OF_HELP, cfgOf, parseAsOf, print } from './shared.js';
import { addAgentCommand, addStreamCommand, addDumpCommands, addExpireCommand, addReplicateCommand } from './dump-commands.js';
import { addDrillCommands } from './drill-commands.js';
import { addDnsCommands } from './dns-commands.js';
import { addRunbookCommand } from './runbook-commands.js';
import { addGoldenCommands } from './golden-commands.js';
import { addCheckCommand } from './check-commands.js';
import { addRecoverCommand } from './recover-commands.js';
import { addFailoverCommands } from './failover-commands.js';
import { addArchiveCommand } from './archive-commands.js';
import { addHaCommands } from './ha-commands.js';
import { keepYoungGenerationSmall } from '../util/young-gc.js';

/** The prefetcher's nice value (archive-get-async). */
const PREFETCH_NICE = 10;

export function buildProgram(): Command {
  const program = new Command('fsdr')
    .description('FeatureSignals DR: WAL archiving, backups, point-in-time restore and drills for PostgreSQL')
    .option('-c, --config <file>', 'configuration file (default: $FSDR_CONFIG)')
    .addHelpText('after', '\nExample:\n  FSDR_CONFIG=/etc/fsdr.yaml fsdr info\n')
    // Usage errors (unknown option, bad value) exit 2, as the README promises; help exits 0.
    .configureOutput({ outputError: (msg, write) => write(`fsdr: ${msg.replace(/^error: /, '')}`) })
    .exitOverride((err) => process.exit(err.exitCode === 0 || /help|version/.test(err.code) ? 0 : 2));

  const config = program.command('config').description('configuration tools');
  config
    .command('check')
    .description('validate the configuration and print it with defaults filled in and secrets redacted')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  fsdr --config /etc/fsdr.yaml config check\n')
    .action(action(async (opts: { json?: boolean }, cmd: Command) => {
      const { redactedConfig } = await import('../config/redact.js');
      const { stringify } = await import('yaml');
      // Always validated from the file (never the cache): checking it is the point.
      const { loadConfig } = await import('../config/load.js');
      const cfg = loadConfig(cmd.optsWithGlobals().config as string | undefined);
      const r = { source: cfg.source, config: redactedConfig(cfg) };
      print(!!opts.json, r, () => `# ${r.source}: valid\n${stringify(r.config).trimEnd()}`);
    }));

  program
    .command('init')
    .description('bind every configured repository to the cluster (writes repo.json once)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  fsdr --config /etc/fsdr.yaml init\n')
    .action(action(async (opts: { json?: boolean }, cmd: Command) => {
      const { clusterIdentity, initRepository } = await import('../commands/init/init.js');
      const cfg = await cfgOf(cmd);
      const id = await clusterIdentity(cfg);
      const results: Awaited<ReturnType<typeof initRepository>>[] = [];
      for (const name of Object.keys(cfg.repositories)) results.push(await initRepository(cfg, name, id));
      print(!!opts.json, results, () => results.map((r) => `${r.repository}: ${r.status} at ${r.location} (cluster ${r.systemIdentifier})`).join('\n'));
    }));

  program
    .command('wal-push <path>')
    .description("archive one WAL file (PostgreSQL's archive_command)")
    .addHelpText('after', "\nExample (postgresql.conf):\n  archive_command = 'FSDR_CONFIG=/etc/fsdr.yaml fsdr wal-push %p'\n")
    .action(action(async (path: string, _o: unknown, cmd: Command) => {
      const { walPush } = await import('../commands/wal-push/wal-push.js');
      await walPush(await cfgOf(cmd), path);
    }));

  program
    .command('wal-fetch <name> <dest>')
    .description("restore one WAL file (PostgreSQL's restore_command); exits 1 quietly when it is not archived")
    .option('--repo <name>', 'repository to fetch from', 'primary')
    .option('--as-of <time>', AS_OF_HELP)
    .addHelpText('after', "\nExample (postgresql.conf):\n  restore_command = 'FSDR_CONFIG=/etc/fsdr.yaml fsdr wal-fetch %f %p'\n")
    .action(async (name: string, dest: string, o: { repo: string; asOf?: string }, cmd: Command) => {
      try {
        const { walFetch } = await import('../commands/wal-fetch/wal-fetch.js');
        if (!(await walFetch(await cfgOf(cmd), name, dest, o.repo, parseAsOf(o.asOf)))) process.exit(1);
      } catch (err) {
        fail(err, RESTORE_COMMAND_FATAL);
      }
    });

  program
    .command('archive-push-async', { hidden: true })
    .description('background pusher started by wal-push when archive.async is on')
    .requiredOption('--pg-wal <dir>', 'the cluster\'s pg_wal directory')
    .action(action(async (opts: { pgWal: string }, cmd: Command) => {
      const cfg = await cfgOf(cmd);
      const { Repository } = await import('../repository/repository.js');
      const { runAsyncPusher } = await import('../commands/wal-push/async-pusher.js');
      const { spoolDir } = await import('../commands/wal-push/spool.js');
      const { PushPool } = await import('../commands/wal-push/push-pool.js');
      const repo = await Repository.open(cfg);
      // Worker threads: compression and encryption of several segments on several cores.
      const pool = new PushPool(cfg, cfg.archive.processes);
      try {
        await runAsyncPusher(repo, { pgWalDir: opts.pgWal, spool: spoolDir(cfg.archive.spoolPath, cfg.source), processes: cfg.archive.processes, push: (p) => pool.push(p) });
      } finally {
        await pool.close();
        await repo.close();
      }
    }));

  program
    .command('archive-get-async', { hidden: true })
    .description('background prefetcher started by wal-fetch when archive.async is on')
    .requiredOption('--from <segment>', 'the segment PostgreSQL asked for')
    .option('--repo <name>', 'repository', 'primary')
    .option('--pgdata <dir>', 'the recovering instance: exit once its recovery has ended')
    .option('--await-start', 'the instance is about to be started (by restore): wait for it')
    .action(action(async (opts: { from: string; repo: string; pgdata?: string; awaitStart?: boolean }, cmd: Command) => {
      const cfg = await cfgOf(cmd);
      // Below the server it feeds: replay (one core) is the recovery's critical path, and decoding
      // ahead of it only needs what replay leaves. Set before the worker threads exist, which
      // inherit it (Linux nice values are per thread). Measured: replay 15 % slower without.
      try { setPriority(PREFETCH_NICE); } catch { /* not allowed here: run at the same priority */ }
      const { Repository } = await import('../repository/repository.js');
      const { fetchOnThisThread, runPrefetcher } = await import('../commands/wal-fetch/prefetch.js');
      const { FetchPool } = await import('../commands/wal-fetch/fetch-pool.js');
      const { spoolDir } = await import('../commands/wal-push/spool.js');
      const repo = await Repository.open(cfg, opts.repo);
      // Worker threads: decryption, decompression and checks of several segments on several cores.
      const pool = new FetchPool(cfg, opts.repo, cfg.archive.processes, fetchOnThisThread(repo));
      try {
        const r = await runPrefetcher(repo, {
          spool: spoolDir(cfg.archive.spoolPath, cfg.source), from: opts.from, pgdata: opts.pgdata, awaitStart: !!opts.awaitStart,
          depth: cfg.archive.prefetch.depth, maxBytes: cfg.archive.prefetch.maxMiB * 1048576,
          parallel: cfg.archive.processes, fetch: pool.fetch,
        });
        if (r) process.stderr.write(`fsdr archive-get-async: from ${opts.from}: ${r.fetched} segments prefetched, stopped (${r.reason})\n`);
      } finally {
        await pool.close();
        await repo.close();
      }
    }));

  program
    .command('info')
    .description('show a repository: its cluster and the archived WAL per timeline (first, last, gaps)')
    .option('--repo <name>', 'repository name from the config', 'primary')
    .option('--as-of <time>', AS_OF_HELP)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  fsdr info --json | jq .wal.timelines\n  fsdr info --as-of 2026-11-27T03:00:00Z\n')
    .action(action(async (opts: { repo: string; asOf?: string; json?: boolean }, cmd: Command) => {
      const { repositoryInfo, formatInfo } = await import('../commands/info/info.js');
      const r = await repositoryInfo(await cfgOf(cmd), opts.repo, parseAsOf(opts.asOf));
      print(!!opts.json, r, () => formatInfo(r));
    }));

  addBackupCommands(program);
  addDemoCommand(program);
  addDumpCommands(program);
  addReplicateCommand(program);
  addExpireCommand(program);
  addDrillCommands(program);
  addRunbookCommand(program);
  addGoldenCommands(program);
  addCheckCommand(program);
  addRecoverCommand(program);
  addFailoverCommands(program);
  addArchiveCommand(program);
  addHaCommands(program);
  addAgentCommand(program);
  addStreamCommand(program);
  addDnsCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // Before any manifest is parsed: a grown young generation is RSS kept for the whole run.
  keepYoungGenerationSmall();
  await buildProgram().parseAsync(argv);
}
