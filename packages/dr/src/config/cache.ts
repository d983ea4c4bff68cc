// A per-user cache of the validated configuration for the per-WAL-file hot path (wal-push and
// wal-fetch run once per segment). Validation (yaml + zod) costs ~180 ms of a ~320 ms start; the
// cache skips it while the file is unchanged (same inode, size and mtime). The cache lives in a
// 0700 directory owned by the user, and is trusted only then; secrets are never cached, only
// their references (they are resolved on every call).
import { mkdirSync, lstatSync, readFileSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Config } from './load.js';
import type { FileConfig } from './schema.js';
import { resolveSecret } from './secret-ref.js';
import { parseMasterKey } from '../keys/master-key.js';
import { ConfigError } from '../errors.js';

const CACHE_VERSION = 1;

export function cacheDir(): string | undefined {
  const uid = process.getuid?.() ?? 0;
  const dir = join(tmpdir(), `fsdr-cache-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700, recursive: true });
    const s = lstatSync(dir);
    // Someone else's directory (or a link) in a shared /tmp is never trusted.
    if (!s.isDirectory() || s.uid !== uid || (s.mode & 0o077) !== 0) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

function fingerprint(path: string): string | undefined {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return undefined;
  }
}

function finish(file: FileConfig, source: string): Config {
  const masterKey = parseMasterKey('encryption.masterKey', resolveSecret('encryption.masterKey', file.encryption.masterKey));
  return { ...file, source, masterKey };
}

export async function loadConfigCached(explicit?: string): Promise<Config> {
  const p = explicit ?? process.env.FSDR_CONFIG;
  if (!p) throw new ConfigError('', 'no configuration file given', { hint: 'pass --config FILE or set FSDR_CONFIG' });
  const source = resolve(p);
  const fp = fingerprint(source);
  const dir = fp ? cacheDir() : undefined;
  const entry = dir ? join(dir, createHash('sha1').update(source).digest('hex') + '.json') : undefined;
  if (entry && fp) {
    try {
      const c = JSON.parse(readFileSync(entry, 'utf8')) as { v: number; fp: string; config: FileConfig };
      if (c.v === CACHE_VERSION && c.fp === fp) return finish(c.config, source);
    } catch {
      /* no cache yet */
    }
  }
  const { loadConfig } = await import('./load.js');
  const cfg = loadConfig(source);
  if (entry && fp) {
    const { masterKey, source: _s, ...file } = cfg;
    try {
      const tmp = `${entry}.${process.pid}`;
      writeFileSync(tmp, JSON.stringify({ v: CACHE_VERSION, fp, config: file }), { mode: 0o600 });
      renameSync(tmp, entry);
    } catch {
      /* caching is an optimisation only */
    }
  }
  return cfg;
}
