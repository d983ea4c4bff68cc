// Child-process bookkeeping: every server a harness spawns is registered here and SIGKILLed at
// process exit, so a test that crashes or forgets stop() never leaves a server behind.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';

const live = new Set<ChildProcess>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const child of live) {
      try { child.kill('SIGKILL'); } catch { /* already gone */ }
    }
  });
}

export function spawnTracked(cmd: string, args: string[], opts: SpawnOptions): ChildProcess {
  hookExit();
  const child = spawn(cmd, args, opts);
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.once('error', () => live.delete(child));
  return child;
}

export function isRunning(child: ChildProcess | undefined): child is ChildProcess {
  return !!child && child.exitCode === null && child.signalCode === null;
}

/** Sends `signal`, waits up to `graceMs`, then SIGKILLs; resolves once the process has exited. */
export async function terminate(child: ChildProcess | undefined, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (!isRunning(child)) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((r) => { timer = setTimeout(() => r(true), graceMs); }),
  ]);
  clearTimeout(timer); // a pending grace timer would keep the test process alive
  if (timedOut && isRunning(child)) {
    child.kill('SIGKILL');
    await exited;
  }
}

/** The numeric uid/gid of an OS user, via `id` (no native module needed). */
export async function osUser(name: string): Promise<{ uid: number; gid: number }> {
  const run = async (flag: string): Promise<number> => {
    const child = spawn('id', [flag, name], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    // 'close', not 'exit': only then has all of stdout been read (after 'exit' it may still be
    // empty, which would read as uid 0 and run the server as root).
    const [code] = (await once(child, 'close')) as [number];
    const id = Number(out.trim());
    if (code !== 0 || !out.trim() || !Number.isInteger(id)) throw new Error(`os user "${name}" not found`);
    return id;
  };
  return { uid: await run('-u'), gid: await run('-g') };
}

/** Wraps a teardown so only the first call does anything (every harness's stop() is idempotent). */
export function runOnce<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  let done: Promise<void> | undefined;
  return (...args) => (done ??= fn(...args));
}

/** Starts a new handle; if starting fails, tears it down (no process or temp dir left) and rethrows. */
export async function startOrTearDown<H extends { stop(): Promise<void> }>(handle: H, start: () => Promise<void>): Promise<H> {
  try {
    await start();
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}
