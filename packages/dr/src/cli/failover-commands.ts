// CLI verbs for regional failover: `fsdr fence`, `fsdr standby`, `fsdr failover`.
import type { Command } from 'commander';
import { action } from './exit.js';
import { cfgOf, print } from './shared.js';
import { intIn } from './options.js';

/** fence, standby, failover and failback: one call from main.ts. */
export function addFailoverCommands(program: Command): void {
  addFenceCommands(program);
  addStandbyCommands(program);
  addFailbackCommand(program);
}

function addFenceCommands(program: Command): void {
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
      const st = await runFenceStatus(await cfgOf(cmd));
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
      const r = await runFenceEnforce(await cfgOf(cmd));
      print(!!o.json, r, () => (!r.fenced ? `region ${r.state!.self} may write: nothing to do` : r.readOnly ? `region ${r.state!.self} is fenced: the cluster refuses writes (${r.readOnly.already ? 'already' : `${r.readOnly.terminated} session(s) ended`})` : `region ${r.state!.self} is fenced (its cluster is a standby or not configured)`));
    }));
}

function addStandbyCommands(program: Command): void {
  const standby = program
    .command('standby')
    .description('the warm standby of this region: built from its own repository, replaying from it')
    .addHelpText('after', '\nExamples:\n  fsdr --config /etc/fsdr-us.yaml standby start\n  fsdr standby status --json\n');
  standby
    .command('start')
    .description('restore the latest backup of this region\'s repository into cluster.pgdata as a standby (standby.signal, restore_command = fsdr wal-fetch, recovery_target_timeline = latest) and start it')
    .option('--processes <n>', 'parallel restore workers (default: backup.processes)', intIn(1, 32))
    .option('--timeout <seconds>', 'how long the standby may take to accept connections', intIn(1, 86400), 600)
    .option('--stack', 'also start this region\'s FeatureSignals server (stack.start) on the standby, read-only and warm; a failover then only waits for its /ready')
    .option('--ready-timeout <seconds>', 'with --stack: how long the server may take to be warm', intIn(1, 3600), 120)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  fsdr --config /etc/fsdr-us.yaml standby start\n  fsdr --config /etc/fsdr-us.yaml standby start --stack\n')
    .action(action(async (o: { processes?: number; timeout: number; stack?: boolean; readyTimeout: number; json?: boolean }, cmd: Command) => {
      const { standbyStart } = await import('../commands/standby/standby.js');
      const cfg = await cfgOf(cmd);
      const r = await standbyStart(cfg, { processes: o.processes ?? cfg.backup.processes, timeoutMs: o.timeout * 1000, stack: !!o.stack, readyTimeoutMs: o.readyTimeout * 1000 });
      print(!!o.json, r, () => `standby of region ${r.region} started from backup ${r.backup} at ${r.pgdata} (port ${r.port}, log ${r.logFile}) in ${r.seconds.toFixed(1)} s${r.stack ? `; FeatureSignals server pid ${r.stack.pid} at ${r.stack.url}, warm (read-only until promotion)` : ''}`);
    }));
  standby
    .command('status')
    .description('replay position and lag in seconds and bytes against the newest WAL in the repository, and against the primary when it answers')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  fsdr --config /etc/fsdr-us.yaml standby status --json\n')
    .action(action(async (o: { json?: boolean }, cmd: Command) => {
      const { standbyStatus, formatStandbyStatus } = await import('../commands/standby/standby.js');
      const s = await standbyStatus(await cfgOf(cmd));
      print(!!o.json, s, () => formatStandbyStatus(s));
    }));
  standby
    .command('stop')
    .description('stop the standby (fast shutdown) and its warm server if one runs; its data directory stays')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  fsdr --config /etc/fsdr-us.yaml standby stop\n')
    .action(action(async (o: { json?: boolean }, cmd: Command) => {
      const { standbyStop } = await import('../commands/standby/standby.js');
      const r = await standbyStop(await cfgOf(cmd));
      print(!!o.json, r, () => `standby at ${r.pgdata} stopped${r.stackStopped ? ', and its warm FeatureSignals server' : ''}`);
    }));

  program
    .command('failover')
    .description('regional failover to this node\'s region: a plan first; with --confirm fence, promote, check the stack, repoint DNS, write evidence')
    .requiredOption('--to <region>', 'the region taking over (this node\'s, regions.self)')
    .option('--confirm', 'carry it out (without it nothing changes)')
    .option('--planned', 'switchover: stop writes on the primary, archive and copy its last segment, wait for the standby to replay it (zero data loss)')
    .option('--ready-timeout <seconds>', 'how long the stack may take to answer /ready', intIn(1, 3600), 120)
    .option('--catch-up-timeout <seconds>', 'how long archiving, replay and promotion may take', intIn(1, 86400), 300)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  fsdr --config /etc/fsdr-us.yaml failover --to us-east\n  fsdr --config /etc/fsdr-us.yaml failover --to us-east --confirm\n  fsdr --config /etc/fsdr-us.yaml failover --to us-east --planned --confirm --json\n')
    .action(action(async (o: { to: string; confirm?: boolean; planned?: boolean; readyTimeout: number; catchUpTimeout: number; json?: boolean }, cmd: Command) => {
      const { runFailover } = await import('../commands/failover/failover.js');
      const { formatPlan } = await import('../commands/failover/format-failover.js');
      const r = await runFailover(await cfgOf(cmd), {
        to: o.to, confirm: !!o.confirm, planned: !!o.planned, readyTimeoutMs: o.readyTimeout * 1000, catchUpTimeoutMs: o.catchUpTimeout * 1000,
        onStep: o.json ? undefined : (s) => process.stdout.write(`${s.ok ? 'ok  ' : 'FAIL'} ${s.name} (${s.seconds.toFixed(1)} s)\n`),
      });
      print(!!o.json, r, () => formatPlan(r));
      if (r.result !== 'ok') process.exitCode = 1;
    }));
}

function addFailbackCommand(program: Command): void {
  program
    .command('failback')
    .description('on the fenced old primary\'s node: re-seed it as the standby from the new primary\'s data (old data directory moved aside); --switchover then switches back without loss')
    .option('--confirm', 'carry it out (without it nothing changes)')
    .option('--switchover', 'after catching up, run a planned switchover back to this region')
    .option('--processes <n>', 'parallel restore workers (default: backup.processes)', intIn(1, 32))
    .option('--timeout <seconds>', 'how long the new standby may take to start', intIn(1, 86400), 600)
    .option('--ready-timeout <seconds>', 'how long the stack may take to answer /ready', intIn(1, 3600), 120)
    .option('--catch-up-timeout <seconds>', 'how long replay and the switchover may take', intIn(1, 86400), 300)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  fsdr --config /etc/fsdr-eu.yaml failback\n  fsdr --config /etc/fsdr-eu.yaml failback --confirm --switchover --json\n')
    .action(action(async (o: { confirm?: boolean; switchover?: boolean; processes?: number; timeout: number; readyTimeout: number; catchUpTimeout: number; json?: boolean }, cmd: Command) => {
      const { runFailback } = await import('../commands/failback/failback.js');
      const cfg = await cfgOf(cmd);
      const r = await runFailback(cfg, { confirm: !!o.confirm, switchover: !!o.switchover, processes: o.processes ?? cfg.backup.processes, timeoutMs: o.timeout * 1000, readyTimeoutMs: o.readyTimeout * 1000, catchUpTimeoutMs: o.catchUpTimeout * 1000 });
      print(!!o.json, r, () => !r.confirmed
        ? `failback of ${r.region} (writer now ${r.writer}): would rewind ${cfg.cluster!.pgdata} with pg_rewind when that loses nothing (else move it to ${r.aside} and restore a standby from the repository), ${o.switchover ? 'then switch over back' : 'and leave it replaying'}; nothing changed: add --confirm`
        : `failback of ${r.region}: ${r.method === 'rewind' ? `pg_rewind (${r.rewind?.why})` : `standby from backup ${r.standby!.backup} (old data in ${r.aside ?? '-'}${r.rewind ? `; ${r.rewind.why}` : ''})`}${r.switchover ? `; switchover ${r.switchover.id}: ${r.switchover.result}${r.switchover.failure ? ` at ${r.switchover.failure.step}: ${r.switchover.failure.message}` : ''}` : ''}`);
      if (r.switchover && r.switchover.result !== 'ok') process.exitCode = 1;
    }));
}
