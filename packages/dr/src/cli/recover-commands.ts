// CLI verb for recover: restore + start the stack + prove it (health, readiness, golden,
// integration) + switch traffic. Each step is printed as it ends; --json prints the report.
import type { Command } from 'commander';
import { FsdrError } from '../errors.js';
import type { DrillStep } from '../repository/drill-catalog.js';
import { parseSet, target } from './backup-commands.js';
import { action } from './exit.js';
import { addRecoveryTargetOptions, port, seconds } from './options.js';
import { cfgOf, print } from './shared.js';

const stepLine = (s: DrillStep): string => {
  const d = s.detail as { skipped?: string; error?: string } | undefined;
  return `  ${s.ok ? 'ok  ' : d?.skipped ? 'skip' : 'FAIL'} ${s.name.padEnd(12)} ${s.seconds.toFixed(1).padStart(6)} s${d?.skipped ? `  (${d.skipped})` : ''}`;
};

export function addRecoverCommand(program: Command): void {
  addRecoveryTargetOptions(
    program
      .command('recover')
      .description('full stack recovery: restore to a target on a new instance, start the FeatureSignals server on it, check /health, /ready, golden evaluations and the integration suite, then switch DNS')
      .requiredOption('--pgdata <dir>', 'data directory of the new instance (must be empty or absent)')
      .option('--port <n>', 'port of the new instance (default: a free one)', port)
      .option('--server-port <n>', 'port of the new server, its PORT (default: a free one)', port),
  )
    .option('--set <name=value>', 'extra postgresql.conf setting for the new instance (repeatable)', parseSet, {})
    .option('--no-switch', 'check the recovered stack but move no traffic (the instance then never archives)')
    .option('--dns-name <name>', 'the name to repoint at the recovered server once every check passed (without it: the connection file of stack.switch)')
    .option('--dns-provider <name>', 'DNS provider from dns.providers (needed when several are configured)')
    .option('--dns-address <addr>', 'the address to point the name at (default: this host\'s first external IPv4)')
    .option('--keep', 'when the server never becomes ready, leave the instance and server in place instead of removing them')
    .option('--timeout <seconds>', 'how long to wait for recovery', seconds, 3600)
    .option('--ready-timeout <seconds>', 'how long the server may take to answer /health and /ready', seconds, 120)
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExamples:\n  fsdr recover --pgdata /srv/pg-new --target-time 2026-11-27T14:05:00Z --dns-name api.fs.example.com\n  fsdr recover --pgdata /srv/pg-check --latest --no-switch --json\n  fsdr recover --pgdata /srv/pg-new --latest   # stack.switch: rewrites the app\'s connection file\n')
    .action(action(async (o: Record<string, unknown>, cmd: Command) => {
      const cfg = await cfgOf(cmd);
      const { runRecover } = await import('../commands/recover/recover.js');
      const json = !!o.json;
      const r = await runRecover(cfg, {
        pgdata: o.pgdata as string, port: o.port as number | undefined, serverPort: o.serverPort as number | undefined, target: target(o),
        backup: o.backup as string | undefined, timeline: o.targetTimeline as number | 'latest' | 'current' | undefined, acceptGap: !!o.acceptGap,
        repository: o.repo as string, set: o.set as Record<string, string>, switchTraffic: o.switch !== false,
        dns: { name: o.dnsName as string | undefined, provider: o.dnsProvider as string | undefined, address: o.dnsAddress as string | undefined },
        keep: !!o.keep, timeoutMs: (o.timeout as number) * 1000, readyTimeoutMs: (o.readyTimeout as number) * 1000,
        onStep: json ? undefined : (s) => process.stdout.write(stepLine(s) + '\n'),
      });
      print(json, r, () => summary(r));
      if (r.failure) {
        throw new FsdrError('FSDR_RECOVER_FAILED', `recover failed at step ${r.failure.step}: ${r.failure.message}`, {
          hint: r.stack ? `traffic was not moved; the new stack is left for inspection (${r.stack.serverUrl}, port ${r.stack.port}); remove it with: ${r.removeWith}` : 'traffic was not moved; nothing was left running',
        });
      }
    }));
}

function summary(r: Awaited<ReturnType<typeof import('../commands/recover/recover.js').runRecover>>): string {
  const lines: string[] = [];
  const g = r.checks.golden as { capture: { id: string }; changedAfterCapture: Array<{ env: string; flag: string; evaluations: number; audit: Array<{ action: string; createdAt: string }> }> } | undefined;
  if (g) lines.push(`golden capture ${g.capture.id}`);
  for (const c of g?.changedAfterCapture ?? []) lines.push(`  changed after capture: ${c.env}/${c.flag} (${c.evaluations} evaluations): ${c.audit.map((a) => `${a.action} at ${a.createdAt}`).join(', ')}`);
  if (r.connection) lines.push(`connection file ${r.connection.path}: ${r.connection.old === null ? '(none)' : JSON.stringify(r.connection.old.trim())} -> ${JSON.stringify(r.connection.new.trim())}`);
  if (r.dns) lines.push(`dns ${r.dns.name} ${r.dns.type}: ${r.dns.old.values.join(',') || '(none)'} -> ${r.dns.new.values.join(',')} (TTL ${r.dns.new.ttl})`);
  if (r.stack && !r.failure) lines.push(`stack: server ${r.stack.serverUrl} (pid ${r.stack.serverPid}), PostgreSQL port ${r.stack.port}, ${r.stack.pgdata}`);
  if (r.rtoSeconds !== undefined) lines.push(`RTO ${r.rtoSeconds.toFixed(1)} s (to /ready with golden evaluations matching)`);
  lines.push(`recover ${r.id}: ${r.result}`);
  return lines.join('\n');
}
