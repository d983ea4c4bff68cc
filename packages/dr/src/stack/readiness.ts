// Waits for a started server's health and readiness paths to answer 200, in that order (liveness
// first: a server that never answers /health is not running at all). A process that exits ends
// the wait at once, with its exit status and the tail of its log, instead of a timeout.
import { logTail, StackNotReadyError, type StartedServer } from './start-server.js';

export interface ReadyResult {
  health: { status: number; body: unknown; seconds: number };
  ready: { status: number; body: unknown; seconds: number };
}

/** One GET: status and body (JSON when it parses), or undefined when nothing answered in 2 s. */
export async function probe(url: string): Promise<{ status: number; body: unknown } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    const text = await res.text();
    let body: unknown = text;
    try { body = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, body };
  } catch {
    return undefined;
  }
}

export async function waitReady(server: StartedServer, baseUrl: string, paths: { health: string; ready: string }, timeoutMs: number): Promise<ReadyResult> {
  const t0 = performance.now();
  const deadline = Date.now() + timeoutMs;
  const out: Partial<ReadyResult> = {};
  for (const [which, path] of [['health', paths.health], ['ready', paths.ready]] as const) {
    let last: { status: number; body: unknown } | undefined;
    for (;;) {
      const ex = server.exited();
      if (ex) {
        const how = ex.signal ? `was ended (${ex.signal})` : `exited with code ${ex.code}`;
        const tail = logTail(server.logFile);
        throw new StackNotReadyError('FSDR_STACK_EXITED', `the FeatureSignals server ${how} before ${path} answered 200${tail ? `; its log ends: ${tail}` : ''}`, {
          hint: `check stack.start and the server log ${server.logFile}`,
        });
      }
      last = await probe(baseUrl + path);
      if (last?.status === 200) break;
      if (Date.now() > deadline) {
        const seen = last ? `it last answered ${last.status}${typeof last.body === 'object' ? ` ${JSON.stringify(last.body).slice(0, 300)}` : ''}` : 'it never answered';
        throw new StackNotReadyError('FSDR_STACK_NOT_READY', `the FeatureSignals server never became ready: ${path} did not answer 200 within ${Math.round(timeoutMs / 1000)} s (${seen})`, {
          hint: `check the server log ${server.logFile}; --ready-timeout gives it longer`,
        });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    out[which] = { ...last, seconds: Math.round(performance.now() - t0) / 1000 };
  }
  return out as ReadyResult;
}
