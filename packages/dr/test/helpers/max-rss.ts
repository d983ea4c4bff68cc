// Runs the real fsdr CLI and returns its peak RSS (bytes, all threads), as the process itself
// measured it at exit (max-rss-hook.ts).
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { runFsdr, type RunResult } from './fsdr.js';

const HOOK = fileURLToPath(new URL('./max-rss-hook.js', import.meta.url));

export async function fsdrMaxRss(args: string[]): Promise<RunResult & { maxRss: number }> {
  const file = join(tmpdir(), `fsdr-maxrss-${randomBytes(6).toString('hex')}`);
  const r = await runFsdr(args, { FSDR_TEST_MAXRSS_FILE: file }, ['--import', HOOK]);
  try {
    return { ...r, maxRss: Number(readFileSync(file, 'utf8')) };
  } catch {
    throw new Error(`fsdr ${args.join(' ')} exited ${r.code} without reporting its peak RSS: ${r.stderr.slice(-2000)}`);
  } finally {
    rmSync(file, { force: true });
  }
}
