// One finding of `fsdr check`: what was checked, how it came out, what to do about it. Checks
// return findings and never throw, so one failure cannot hide the checks that can still run.
import { FsdrError } from '../errors.js';

export type CheckStatus = 'ok' | 'fail' | 'warn' | 'skip';

export interface CheckResult {
  check: string;
  status: CheckStatus;
  message: string;
  hint?: string;
  /** The FsdrError code behind a failure, for scripts. */
  code?: string;
  /** How long it took, where that is the point (the WAL switch's arrival). */
  seconds?: number;
}

export const ok = (check: string, message: string, extra: Partial<CheckResult> = {}): CheckResult => ({ check, status: 'ok', message, ...extra });
export const warn = (check: string, message: string, hint?: string): CheckResult => ({ check, status: 'warn', message, hint });
export const fail = (check: string, message: string, hint?: string, code?: string): CheckResult => ({ check, status: 'fail', message, hint, code });
export const skip = (check: string, message: string): CheckResult => ({ check, status: 'skip', message });

export function failed(check: string, err: unknown): CheckResult {
  if (err instanceof FsdrError) return fail(check, err.message, err.hint, err.code);
  return fail(check, err instanceof Error ? err.message : String(err));
}

export class DeadlineError extends FsdrError {
  constructor(what: string, seconds: number) {
    super('FSDR_CHECK_TIMEOUT', `${what}: no answer within ${seconds}s`, { hint: 'raise --timeout, or find out why it does not answer' });
  }
}

/** The work, or a DeadlineError after `seconds`: a check never waits longer than it was given. */
export async function withDeadline<T>(work: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(what, seconds)), seconds * 1000);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
