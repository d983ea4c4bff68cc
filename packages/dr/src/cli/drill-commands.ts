// CLI verbs for drills: drill verify (a real restore test with evidence), drill restore, drill failover, drill tabletop, drill list, drill show.
import { Option, type Command } from 'commander';
import { FsdrError } from '../errors.js';
import { action } from './exit.js';
import { isoTime, seconds } from './options.js';
import { cfgOf, print } from './shared.js';

export function addDrillCommands(program: Command): void {
  const drill = program.command('drill').description('DR drills: run them, and read the evidence they leave in the repository');
  drill
    .command('verify')
    .description('weekly backup verification: verify every object, restore the latest backup and WAL into a temporary instance, pg_amcheck it, count rows, compare the recovered point with the archive; writes evidence')
    .option('--repo <name>', 'repository to verify and restore from (the evidence goes there too)', 'primary')
    .option('--work-dir <dir>', 'where the temporary data directory goes (default: drill.workDir, else the system temp directory)')
    .option('--keep', 'leave the restored instance running and its directory in place for inspection')
    .option('--json', 'print the evidence as JSON')
    .addHelpText('after', '\nExamples:\n  fsdr drill verify\n  fsdr drill verify --work-dir /srv/drills --json\n')
    .action(action(async (o: { repo: string; workDir?: string; keep?: boolean; json?: boolean }, cmd: Command) => {
      const { runDrillVerify } = await import('../commands/drill/drill.js');
      const { formatDrill } = await import('../commands/drill/format-drill.js');
      const r = await runDrillVerify(await cfgOf(cmd), { repository: o.repo, keep: o.keep, workDir: o.workDir });
      const e = r.evidence;
      print(!!o.json, e, () => formatDrill(e) + (r.kept ? `\n  kept: ${r.kept.pgdata}, port ${r.kept.port} (stop it with pg_ctl -D ${r.kept.pgdata} stop)` : ''));
      if (e.failure) {
        throw new FsdrError('FSDR_DRILL_FAILED', `drill ${e.id} failed at step ${e.failure.step}${e.failure.object ? ` (${e.failure.object})` : ''}: ${e.failure.message}`, { hint: `the evidence is in the repository: fsdr drill show ${e.id}` });
      }
    }));
  drill
    .command('restore')
    .description('the quarterly restore drill: recover in isolation (restore into a temporary directory on free loopback ports, archiving off, start the server, /health, /ready, golden, integration; no traffic switch), then remove everything it started; evidence with each step, the measured RTO and the objectives')
    .option('--repo <name>', 'repository to restore from (the evidence goes there too)', 'primary')
    .option('--target-time <time>', 'recover to this time (ISO 8601 with a zone), inclusive', isoTime)
    .option('--latest', 'recover everything archived (the default)')
    .option('--work-dir <dir>', 'where the temporary data directory goes (default: drill.workDir, else the system temp directory)')
    .option('--keep', 'leave the restored instance and server running for inspection (the evidence says how to remove them)')
    .option('--ready-timeout <seconds>', 'how long the server may take to answer /health and /ready', seconds, 120)
    .option('--json', 'print the evidence as JSON')
    .addHelpText('after', '\nExamples:\n  fsdr drill restore\n  fsdr drill restore --target-time 2026-11-27T14:05:00Z --json\n')
    .action(action(async (o: { repo: string; targetTime?: string; latest?: boolean; workDir?: string; keep?: boolean; readyTimeout: number; json?: boolean }, cmd: Command) => {
      if (o.targetTime && o.latest) throw new FsdrError('FSDR_USAGE', 'give one recovery target: --target-time or --latest', { exitCode: 2 });
      const { runDrillRestore } = await import('../commands/drill/drill-restore.js');
      const { formatDrill } = await import('../commands/drill/format-drill.js');
      const e = await runDrillRestore(await cfgOf(cmd), {
        repository: o.repo, target: o.targetTime ? { kind: 'time', value: o.targetTime } : { kind: 'latest' }, keep: o.keep, workDir: o.workDir,
        readyTimeoutMs: o.readyTimeout * 1000,
      });
      print(!!o.json, e, () => formatDrill(e) + (e.removeWith ? `\n  kept: ${e.stack?.serverUrl ?? ''} ${e.stack?.pgdata ?? ''}; remove with: ${e.removeWith}` : ''));
      if (e.failure) {
        throw new FsdrError('FSDR_DRILL_FAILED', `drill ${e.id} failed at step ${e.failure.step}: ${e.failure.message}`, { hint: `the evidence is in the repository: fsdr drill show ${e.id}` });
      }
    }));
  drill
    .command('instance')
    .description('instance failure, for real (ha:): kill -9 the Patroni leader\'s postmaster under a writer that commits through the clients\' address, and time detection, promotion, client reconnect and /ready (golden matching, with a stack section); counts acknowledged commits lost; writes evidence')
    .option('--connection <url>', 'where the writer connects (default: ha.clientConnection, the HAProxy address)')
    .option('--warmup <seconds>', 'how long the writer runs before the kill', seconds, 2)
    .option('--timeout <seconds>', 'how long each phase may take', seconds, 120)
    .option('--wait-rejoin', 'also wait for the old leader to come back as a replica')
    .option('--json', 'print the evidence as JSON')
    .addHelpText('after', '\nExample:\n  fsdr --config /etc/fsdr.yaml drill instance --wait-rejoin\n  # drill 20261203T062900Z-instance-1a2b3c (instance): PASSED … detection 2.1 s  promotion 2.4 s  client reconnect 2.8 s  /ready+golden 5.9 s\n')
    .action(action(async (o: { connection?: string; warmup: number; timeout: number; waitRejoin?: boolean; json?: boolean }, cmd: Command) => {
      const { runInstanceDrill, formatInstanceDrill } = await import('../commands/drill/drill-instance.js');
      const r = await runInstanceDrill(await cfgOf(cmd), { connection: o.connection, warmupMs: o.warmup * 1000, timeoutMs: o.timeout * 1000, waitRejoin: !!o.waitRejoin });
      print(!!o.json, r, () => formatInstanceDrill(r));
      if (r.failure) {
        throw new FsdrError('FSDR_DRILL_FAILED', `drill ${r.id} failed at step ${r.failure.step}: ${r.failure.message}`, { hint: `the evidence is in the repository: fsdr drill show ${r.id}` });
      }
    }));
  drill
    .command('failover')
    .description('the biannual regional failover drill, run on the standby region\'s node: a writer commits to the primary, the primary is made to refuse writes (the disaster), fsdr failover promotes this region and cuts DNS over, the new region serves, then fsdr failback --switchover brings the roles back; evidence with the measured RPO, RTO and the DNS answers')
    .option('--peer-config <file>', 'the primary region\'s node configuration (default: drill.failover.peerConfig)')
    .option('--serve <seconds>', 'how long the new region serves before the failback (default: drill.failover.serveSeconds)', seconds)
    .option('--confirm', 'run it: without, only the plan is printed and nothing changes')
    .option('--ready-timeout <seconds>', 'how long each region\'s server may take to answer /health and /ready', seconds, 120)
    .option('--catch-up-timeout <seconds>', 'how long the standby may take to replay the WAL it must reach', seconds, 300)
    .option('--json', 'print the evidence as JSON')
    .addHelpText('after', '\nExamples:\n  fsdr --config us-east.yaml drill failover --peer-config eu-west.yaml\n  fsdr --config us-east.yaml drill failover --peer-config eu-west.yaml --serve 86400 --confirm\n')
    .action(action(async (o: { peerConfig?: string; serve?: number; confirm?: boolean; readyTimeout: number; catchUpTimeout: number; json?: boolean }, cmd: Command) => {
      const { runDrillFailover } = await import('../commands/drill/drill-failover.js');
      const { formatDrill } = await import('../commands/drill/format-drill.js');
      const e = await runDrillFailover(await cfgOf(cmd), {
        peerConfig: o.peerConfig, serveSeconds: o.serve, confirm: !!o.confirm, readyTimeoutMs: o.readyTimeout * 1000, catchUpTimeoutMs: o.catchUpTimeout * 1000,
        onStep: o.json ? undefined : (s) => process.stdout.write(`  ${s.ok ? 'ok  ' : 'FAIL'} ${s.name.padEnd(10)} ${s.seconds.toFixed(2).padStart(8)} s\n`),
      });
      if (!e.confirmed) {
        print(!!o.json, e, () => [`failover drill ${e.from} -> ${e.to} would:`, ...(e.checks.plan as string[]).map((l) => `  - ${l}`), 'nothing changed: add --confirm to run it'].join('\n'));
        return;
      }
      print(!!o.json, e, () => formatDrill(e));
      if (e.failure) {
        throw new FsdrError('FSDR_DRILL_FAILED', `drill ${e.id} failed at step ${e.failure.step}: ${e.failure.message}`, { hint: `the evidence is in the repository of the writing region: fsdr drill show ${e.id}` });
      }
    }));
  drill
    .command('tabletop')
    .description('the monthly tabletop exercise: each scenario of the plan with the exact commands for this deployment, what is at risk now, questions for the team; recorded as drill evidence with who took part')
    .option('--participants <names>', 'who took part, comma-separated (none: prepared, not yet held)')
    .option('--repo <name>', 'repository the evidence goes to', 'primary')
    .addOption(new Option('--format <format>', 'text (a summary) or md (the full agenda)').choices(['text', 'md']).default('text'))
    .option('--json', 'print the evidence as JSON')
    .addHelpText('after', '\nExamples:\n  fsdr drill tabletop --format md > agenda.md\n  fsdr drill tabletop --participants "ana,bo,chen"\n')
    .action(action(async (o: { participants?: string; repo: string; format: 'text' | 'md'; json?: boolean }, cmd: Command) => {
      const { runTabletop, formatTabletop } = await import('../commands/drill/tabletop.js');
      const e = await runTabletop(await cfgOf(cmd), { participants: o.participants?.split(','), repository: o.repo });
      print(!!o.json, e, () => formatTabletop(e, o.format === 'md'));
    }));
  drill
    .command('list')
    .description('list the drills recorded in the repository, oldest first')
    .option('--repo <name>', 'repository', 'primary')
    .option('--json', 'print JSON')
    .action(action(async (o: { repo: string; json?: boolean }, cmd: Command) => {
      const { listDrills } = await import('../commands/drill/drill-list.js');
      const { formatDrillList } = await import('../commands/drill/format-drill.js');
      const list = await listDrills(await cfgOf(cmd), o.repo);
      print(!!o.json, list, () => formatDrillList(list));
    }));
  drill
    .command('show <id>')
    .description('show one drill\'s evidence: steps, timings, checks, RTO/RPO, failure')
    .option('--repo <name>', 'repository', 'primary')
    .option('--json', 'print the evidence as JSON')
    .action(action(async (id: string, o: { repo: string; json?: boolean }, cmd: Command) => {
      const { showDrill } = await import('../commands/drill/drill-list.js');
      const { formatDrill } = await import('../commands/drill/format-drill.js');
      const e = await showDrill(await cfgOf(cmd), id, o.repo);
      print(!!o.json, e, () => formatDrill(e));
    }));
}
