// Structured logs (pino, JSON on stderr) for long operations when stderr is not a terminal;
// on a terminal the progress line speaks instead. Secrets are never passed to the logger.
import { pino, type Logger } from 'pino';

let logger: Logger | undefined;

export function log(): Logger {
  logger ??= pino({ name: 'fsdr', level: process.env.FSDR_LOG_LEVEL ?? 'info', base: { pid: process.pid } }, pino.destination(2));
  return logger;
}
