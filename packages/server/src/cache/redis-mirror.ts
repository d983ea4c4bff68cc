// Redis is derived data: rulesets are written under keys tagged with the database identity
// (fs:{dbid}:…), entries of any other identity are deleted, and nothing is ever read back to serve.
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Ruleset } from '@featuresignals/sdk/eval';

export interface RedisEntry { dbid: string; version: number; builtAt: string; ruleset: Ruleset }

export const rulesetKey = (dbid: string, envId: string): string => `fs:${dbid}:rs:${envId}`;
export const warmKey = (dbid: string): string => `fs:${dbid}:warm`;

export class RedisMirror {
  readonly client: Redis;

  constructor(url: string) {
    // No offline queue: a write while Redis is down fails fast instead of piling up in memory.
    this.client = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 1000,
      retryStrategy: (n) => Math.min(100 * n, 1000) });
    this.client.on('error', () => { /* surfaced through /ready's redis check */ });
  }

  async connect(): Promise<void> {
    await this.client.connect().catch(() => undefined);
  }

  async writeEnv(rs: Ruleset): Promise<void> {
    const entry: RedisEntry = { dbid: rs.dbid, version: rs.version, builtAt: new Date().toISOString(), ruleset: rs };
    await this.client.set(rulesetKey(rs.dbid, rs.env.id), JSON.stringify(entry));
  }

  async deleteEnv(dbid: string, envId: string): Promise<void> {
    await this.client.del(rulesetKey(dbid, envId));
  }

  /** Overwrites every environment (never SETNX), removes other identities' keys, then marks warm. */
  async mirrorAll(dbid: string, rulesets: Ruleset[]): Promise<void> {
    const own = `fs:${dbid}:`;
    const stale: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', 'fs:*', 'COUNT', 1000);
      cursor = next;
      for (const k of keys) if (!k.startsWith(own)) stale.push(k);
    } while (cursor !== '0');
    for (let i = 0; i < stale.length; i += 500) await this.client.del(...stale.slice(i, i + 500));
    await this.client.del(warmKey(dbid));
    for (let i = 0; i < rulesets.length; i += 200) {
      const p = this.client.pipeline();
      for (const rs of rulesets.slice(i, i + 200)) {
        p.set(rulesetKey(dbid, rs.env.id), JSON.stringify({ dbid, version: rs.version, builtAt: new Date().toISOString(), ruleset: rs } satisfies RedisEntry));
      }
      const res = await p.exec();
      const failed = res?.find(([err]) => err);
      if (failed) throw failed[0];
    }
    const versions = rulesets.map((r) => `${r.env.id}:${r.version}`).sort().join('\n');
    await this.client.set(warmKey(dbid), JSON.stringify({
      completedAt: new Date().toISOString(), envCount: rulesets.length, versionsSha256: createHash('sha256').update(versions).digest('hex'),
    }));
  }

  /** PING plus the warm marker of this identity. */
  async check(dbid: string | undefined): Promise<{ ok: boolean; warm: boolean; error?: string }> {
    try {
      const pong = await withTimeout(this.client.ping(), 1000);
      if (pong !== 'PONG') return { ok: false, warm: false, error: `unexpected PING reply ${pong}` };
      const warm = dbid ? (await withTimeout(this.client.exists(warmKey(dbid)), 1000)) === 1 : false;
      return { ok: true, warm };
    } catch (err) {
      return { ok: false, warm: false, error: (err as Error).message };
    }
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, rej) => { t = setTimeout(() => rej(new Error(`timed out after ${ms} ms`)), ms); })])
    .finally(() => clearTimeout(t));
}
