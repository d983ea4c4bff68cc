// CLI verbs for in-region automatic failover on Patroni: `fsdr ha config|status|create-replica`.
import type { Command } from 'commander';
import { action } from './exit.js';
import { cfgOf, print } from './shared.js';
import { intIn } from './options.js';

export function addHaCommands(program: Command): void {
  const ha = program
    .command('ha')
    .description('in-region automatic failover: Patroni on etcd, with fsdr archiving, restoring and building replicas')
    .addHelpText('after', '\nExamples:\n  fsdr ha config --node pg-a --out /etc/patroni/patroni.yml\n  fsdr ha status\n');
  ha
    .command('config')
    .description("print (or write) a node's patroni.yml from the ha: section: fsdr as archive_command, restore_command and replica creation method")
    .option('--node <name>', 'the node (default: ha.self)')
    .option('--out <file>', 'write it here with mode 0600, passwords included (printed, they are left out)')
    .option('--json', 'print JSON (node, path, yaml)')
    .addHelpText('after', '\nExample:\n  fsdr --config /etc/fsdr.yaml ha config --node pg-a --out /etc/patroni/pg-a.yml && patroni /etc/patroni/pg-a.yml\n')
    .action(action(async (o: { node?: string; out?: string; json?: boolean }, cmd: Command) => {
      const { haConfig } = await import('../commands/ha/ha-config.js');
      const r = await haConfig(await cfgOf(cmd), o);
      const shown = { node: r.node, path: r.path, yaml: r.path ? undefined : r.yaml };
      print(!!o.json, shown, () => (r.path ? `wrote ${r.path} (node ${r.node}, mode 0600)` : r.yaml.trimEnd()));
    }));
  ha
    .command('status')
    .description('leader, members, lag, timeline and the last failover from Patroni\'s REST API; says when etcd is unreachable (exit 3 when there is a problem)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  fsdr --config /etc/fsdr.yaml ha status --json | jq .leader\n')
    .action(action(async (o: { json?: boolean }, cmd: Command) => {
      const { haStatus, formatHaStatus } = await import('../commands/ha/ha-status.js');
      const st = await haStatus(await cfgOf(cmd));
      print(!!o.json, st, () => formatHaStatus(st));
      if (st.problems.length) process.exitCode = 3;
    }));
  ha
    .command('create-replica')
    .description("Patroni's replica creation method: restore the newest backup and the archived WAL into --datadir as a standby (Patroni falls back to pg_basebackup when it fails)")
    .requiredOption('--datadir <dir>', 'the new replica\'s data directory (empty or absent)')
    .option('--timeout <seconds>', 'how long the restore may take', intIn(1, 7 * 86400), 3600)
    // Patroni adds --scope, --role, --connstring and each option of the method's section.
    .option('--scope <name>', 'the Patroni cluster (passed by Patroni; unused)')
    .option('--role <role>', 'passed by Patroni; unused')
    .option('--connstring <url>', 'the leader (passed by Patroni; unused: the copy comes from the repository)')
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText('after', '\nExample (patroni.yml, written by fsdr ha config):\n  create_replica_methods: [fsdr, basebackup]\n  fsdr: { command: "node fsdr.js --config /etc/fsdr.yaml ha create-replica", no_leader: true }\n')
    .action(action(async (o: { datadir: string; timeout: number }, cmd: Command) => {
      const { createReplica } = await import('../commands/ha/create-replica.js');
      const r = await createReplica(await cfgOf(cmd), { datadir: o.datadir, timeoutMs: o.timeout * 1000 });
      process.stdout.write(`replica ${r.datadir} restored from backup ${r.backup} in ${r.seconds.toFixed(1)}s\n`);
    }));
}
