// CLI verb for fsdr check: one line per check (or the list as JSON); the exit code is the report's.
import type { Command } from 'commander';
import { action } from './exit.js';
import { seconds } from './options.js';
import { print } from './shared.js';

export function addCheckCommand(program: Command): void {
  program
    .command('check')
    .description('check that this host is ready to protect its cluster: config, key, each repository bound to this cluster, the connection, cluster.pgdata, archive_mode/archive_command/wal_level, a WAL switch arriving in the primary repository, failback prerequisites, the async spool')
    .option('--repo <name>', 'check only this repository (repeatable; default: all)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--timeout <seconds>', 'how long a repository may take to answer and the switched WAL segment to arrive', seconds, 60)
    .option('--json', 'print the list of checks as JSON')
    .addHelpText('after', '\nExit: 0 all ok (warnings allowed), 1 a check failed, 2 the config could not be read (or --repo names no repository).\n\nExample:\n  fsdr --config /etc/fsdr.yaml check --timeout 30\n  sudo -u postgres fsdr check --json | jq \'.[] | select(.status != "ok")\'\n')
    .action(action(async (o: { repo?: string[]; timeout: number; json?: boolean }, cmd: Command) => {
      const { runCheck, formatChecks } = await import('../commands/check/check.js');
      const r = await runCheck(cmd.optsWithGlobals().config as string | undefined, { repos: o.repo, timeoutSeconds: o.timeout });
      print(!!o.json, r.checks, () => formatChecks(r.checks));
      // Exit now: a repository that timed out may still hold sockets the SDK keeps retrying on.
      process.exit(r.exitCode);
    }));
}
