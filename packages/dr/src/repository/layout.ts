// The only module that turns domain values into object keys (and back). Commands never build
// paths. See docs/repository-format.md for the layout as a whole.
import { parseWalName, type WalName } from '../postgres/wal-name.js';

export const REPO_INFO_KEY = 'repo.json';
export const WAL_PREFIX = 'wal/';

/** wal/<timeline+log>/<segment> for segments; wal/<name> for timeline history files. */
export function walKey(w: WalName): string {
  if (w.kind === 'history') return `${WAL_PREFIX}${w.name}`;
  return `${WAL_PREFIX}${w.name.slice(0, 16)}/${w.name}`;
}

export function parseWalKey(key: string): WalName | undefined {
  if (!key.startsWith(WAL_PREFIX)) return undefined;
  const name = key.slice(key.lastIndexOf('/') + 1);
  const w = parseWalName(name);
  if (!w || walKey(w) !== key) return undefined;
  return w;
}
