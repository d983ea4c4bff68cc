// Small helpers every CLI verb uses: the resolved config of a command, and text-or-JSON output.
import type { Command } from 'commander';
import type { Config } from '../config/load.js';
import { loadConfigCached } from '../config/cache.js';
export { AS_OF_HELP, parseAsOf } from './as-of.js';

/**
 * The command's config, validated. While the file is unchanged since a validation, the cached
 * result is used (config/cache.ts): yaml and zod are then never loaded, about 18 MiB of every
 * process's memory (a backup's main thread: 75 -> 57 MiB before its workers start).
 */
export async function cfgOf(cmd: Command): Promise<Config> {
  return loadConfigCached(cmd.optsWithGlobals().config as string | undefined);
}

export function print(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : text() + '\n');
}
