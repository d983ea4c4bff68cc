// A client program's stdout as a stream that fails unless the program exits 0, so a dump cut short
// by an error can never be stored as if it were whole (its error text becomes the failure).
import { spawn } from 'node:child_process';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { PostgresError } from '../errors.js';

export function toolOutput(path: string, args: string[], env: NodeJS.ProcessEnv = process.env): Readable {
  const child = spawn(path, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 4000) stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(-1));
    child.on('close', (code) => resolve(code));
  });
  const guard = new Transform({
    transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback) {
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      exited.then((code) => {
        if (code === 0) cb();
        else cb(new PostgresError(`${path.split('/').pop()} failed (exit ${code}): ${stderr.trim().split('\n').pop() ?? ''}`));
      });
    },
  });
  guard.on('close', () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  child.stdout.pipe(guard);
  return guard;
}
