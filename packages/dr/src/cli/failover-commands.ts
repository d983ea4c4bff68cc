// CLI verbs for regional failover: `fsdr fence`, `fsdr standby`, `fsdr failover`.
import type { Command } from 'commander';
import { action } from './exit.js';
import { cfgOf, print } from './shared.js';

export function addFailoverCommands(program: Command): void {
  const fence = program
    .command('fence')
    .description('the split-brain guard: which region may write (fence/<epoch> in the repositories)')
    .addHelpText('after', '\nExamples:\n  fsdr fence status\n  fsdr fence enforce --json\n');
  fence
    .command('status')
    .description('show the highest fence this region can see and whether it may write (exit 3 when fenced)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  fsdr --config /etc/fsdr.yaml fence status\n')
    .action(action(async (o: { json?: boolean }, cmd: Command) => {
      const { runFenceStatus, formatFenceStatus } = await import('../commands/fence/fence.js');
      const st = await runFenceStatus(cfgOf(cmd));
      print(!!o.json, st, () => formatFenceStatus(st));
      if (st.fenced) process.exitCode = 3;
    }));
  fence
    .command('enforce')
    .description('when this region is fenced, make its cluster refuse writes (default_transaction_read_only, sessions ended); the agent does this on its own')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  fsdr --config /etc/fsdr.yaml fence enforce\n')
    .action(action(async (o: { json?: boolean }, cmd: Command) => {
      const { runFenceEnforce } = await import('../commands/fence/fence.js');
      const r = await runFenceEnforce(cfgOf(cmd));
      print(!!o.json, r, () => (!r.fenced ? `region ${r.state!.self} may write: nothing to do` : r.readOnly ? `region ${r.state!.self} is fenced: the cluster refuses writes (${r.readOnly.already ? 'already' : `${r.readOnly.terminated} session(s) ended`})` : `region ${r.state!.self} is fenced (its cluster is a standby or not configured)`));
    }));
}
