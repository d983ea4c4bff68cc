// The config as a worker thread receives it. Kept apart from load.ts so that worker threads
// (backup bundles, restore extraction, async WAL pushes) import neither yaml, zod nor croner: each
// worker is its own V8 isolate, and those modules cost every one of them megabytes of heap.
import type { Config } from './load.js';

/**
 * The config as a worker thread receives it (structured clone turns the key's Buffer into a
 * Uint8Array). Workers get the parent's validated config, never re-read the file: an edit made
 * while a backup runs must not send its bundles to another repository or key.
 */
export function reviveConfig(cloned: Config): Config {
  return { ...cloned, masterKey: Buffer.from(cloned.masterKey) };
}
