// Small helpers every CLI verb uses: the resolved config of a command, and text-or-JSON output.
import type { Command } from 'commander';
import { loadConfig, type Config } from '../config/load.js';
export { AS_OF_HELP, parseAsOf } from './as-of.js';

export function cfgOf(cmd: Command): Config {
  return loadConfig(cmd.optsWithGlobals().config as string | undefined);
}

export function print(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : text() + '\n');
}

