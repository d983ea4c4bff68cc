// The customer's own integration suite (stack.integrationCommand), run after the built-in checks
// and before traffic moves: argv without a shell, with the recovered stack's DATABASE_URL and
// FS_SERVER_URL in its environment. A non-zero exit (or the timeout) fails the recovery. Its
// output tail goes into the report with any URL password redacted.
import { spawn } from 'node:child_process';
import { redactSecrets } from './connection-file.js';

export interface CommandSpec { command: string[]; env: Record<string, string>; timeoutSeconds: number }

export interface CommandResult { ok: boolean; exitCode: number | null; signal: string | null; seconds: number; outputTail: string; message?: string }

export function runIntegrationCommand(spec: CommandSpec, vars: { DATABASE_URL: string; FS_SERVER_URL: string }): Promise<CommandResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let out = '';
    const child = spawn(spec.command[0]!, spec.command.slice(1), { env: { ...process.env, ...spec.env, ...vars }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer) => { out = (out + b.toString('utf8')).slice(-4000); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), spec.timeoutSeconds * 1000);
    const done = (exitCode: number | null, signal: string | null, spawnError?: Error) => {
      clearTimeout(timer);
      const seconds = Math.round(performance.now() - t0) / 1000;
      const outputTail = redactSecrets(out.trimEnd().split('\n').slice(-10).join('\n'));
      const ok = exitCode === 0;
      const why = spawnError ? `could not start: ${spawnError.message}` : signal === 'SIGKILL' && seconds >= spec.timeoutSeconds ? `timed out after ${spec.timeoutSeconds} s` : signal ? `was ended by ${signal}` : `exited with code ${exitCode}`;
      resolve({ ok, exitCode, signal, seconds, outputTail, ...(ok ? {} : { message: `stack.integrationCommand ${why}${outputTail ? `; its output ends: ${outputTail.split('\n').slice(-3).join(' | ')}` : ''}` }) });
    };
    child.once('error', (err) => done(null, null, err));
    child.once('close', (code, signal) => done(code, signal));
  });
}
