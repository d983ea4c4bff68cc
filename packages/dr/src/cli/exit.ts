// The one place that turns errors into a one-line message and an exit code.
import { describeError, FsdrError } from '../errors.js';

/**
 * Exit code for restore_command failures other than "not archived". PostgreSQL reads exit 1..125
 * as "no such file" and would end recovery early, promoting without the rest of the WAL; above
 * 125 it aborts recovery instead, so a broken fetch can never pass for the end of the archive.
 */
export const RESTORE_COMMAND_FATAL = 126;

export function fail(err: unknown, exitCode?: number): never {
  const code = exitCode ?? (err instanceof FsdrError ? err.exitCode : 1);
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
