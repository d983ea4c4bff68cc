// The one place that turns errors into a one-line message and an exit code.
import { describeError, FsdrError } from '../errors.js';

export function fail(err: unknown): never {
  const code = err instanceof FsdrError ? err.exitCode : 1;
  process.stderr.write(`fsdr: ${describeError(err)}\n`);
  if (process.env.FSDR_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exit(code);
}

/** Wrap a command action: run it, map any error to a one-line message and exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      fail(err);
    }
  };
}
