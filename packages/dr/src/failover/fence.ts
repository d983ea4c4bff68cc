// The split-brain guard. Every repository holds fences `fence/<epoch>`, each written once
// (put ifAbsent: link() on fs, If-None-Match: * on S3), so two failovers racing for the same
// epoch cannot both win. The highest epoch, over every repository a writer can reach, names the
// one region that may write; with no fence at all, that is `regions.primary`. Writers (wal-push,
// backup, dump, replicate, expire, the agent) ask `assertMayWrite` and refuse when fenced.
import { createHash } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { cacheDir } from '../config/cache.js';
import type { Config } from '../config/load.js';
import { otherRegion, selfRegion } from '../config/regions.js';
import { FsdrError } from '../errors.js';
import { FENCE_PREFIX, fenceKey, parseFenceKey } from '../repository/layout.js';
import { ObjectExistsError } from '../storage/errors.js';
import { openStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';

export interface Fence {
  epoch: number;
  /** The region that may write from this epoch on. */
  region: string;
  at: string;
  /** What wrote it (`fsdr failover --to us-east`). */
  by: string;
}

/** A fence as read, with where it was read (for messages). */
export interface SeenFence extends Fence {
  where: string;
}

async function readBody(s: Storage, key: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of await s.get(key)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** The highest fence of one repository, or undefined when it has none. One LIST, one GET. */
export async function highestFence(s: Storage): Promise<SeenFence | undefined> {
  let top: number | undefined;
  for await (const o of s.list(FENCE_PREFIX)) {
    const e = parseFenceKey(o.key);
    if (e !== undefined && (top === undefined || e > top)) top = e;
  }
  if (top === undefined) return undefined;
  const body = await readBody(s, fenceKey(top));
  let f: Fence;
  try {
    f = JSON.parse(body.toString('utf8')) as Fence;
  } catch {
    throw new FsdrError('FSDR_FENCE_CORRUPT', `fence ${fenceKey(top)} in ${s.description} is not valid JSON`, { hint: 'fences are written only by fsdr failover; inspect the object' });
  }
  if (f.epoch !== top || typeof f.region !== 'string') {
    throw new FsdrError('FSDR_FENCE_CORRUPT', `fence ${fenceKey(top)} in ${s.description} does not name its epoch and region`, { hint: 'fences are written only by fsdr failover; inspect the object' });
  }
  return { ...f, where: s.description };
}

/** Write fence `f` once; losing the race for its epoch is an error (another failover wrote it). */
export async function writeFence(s: Storage, f: Fence): Promise<void> {
  try {
    await s.put(fenceKey(f.epoch), Readable.from([Buffer.from(JSON.stringify(f))]), { ifAbsent: true });
  } catch (err) {
    if (err instanceof ObjectExistsError) {
      throw new FsdrError('FSDR_FENCE_RACE', `fence epoch ${f.epoch} already exists in ${s.description}: another failover wrote it first`, {
        hint: 'run `fsdr failover --to REGION` again: it plans from the fences as they are now',
      });
    }
    throw err;
  }
}

function higher(a: SeenFence | undefined, b: SeenFence | undefined): SeenFence | undefined {
  if (!a) return b;
  if (!b) return a;
  return b.epoch > a.epoch ? b : a;
}

/** Resolves undefined when `p` takes longer than `ms` (the peer region may be cut off). */
export function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<undefined>((r) => (t = setTimeout(() => r(undefined), ms)))]).finally(() => clearTimeout(t));
}

export interface FenceState {
  self: string;
  /** The region that may write now. */
  writer: string;
  top?: SeenFence;
  /** Repositories that could not be read (peer cut off): their fences were not seen. */
  unreachable: string[];
}

/** How long the other region's repository may take to answer before it counts as cut off. */
export const PEER_TIMEOUT_MS = 2000;

/**
 * The fence as this region sees it: its own repository must answer (the writer writes there),
 * the other region's is asked too (a failover that could not reach this region's bucket wrote its
 * fence only there), bounded, so a standby region outage never stalls archiving.
 */
export async function fenceState(cfg: Config): Promise<FenceState | undefined> {
  const r = cfg.regions;
  if (!r) return undefined;
  const self = selfRegion(r);
  const other = otherRegion(r, self);
  const own = await openStorage(cfg.repositories.primary, 'primary');
  const peer = await openStorage(cfg.repositories[other]!, other);
  const mark = peerDownMark(peer.description);
  try {
    const skipPeer = mark !== undefined && recentlyDown(mark);
    const peerTop = skipPeer ? Promise.resolve(undefined) : within(highestFence(peer).then((f) => ({ f }), () => undefined), PEER_TIMEOUT_MS);
    const ownTop = await highestFence(own);
    const p = await peerTop;
    if (!p && !skipPeer && mark) writeFileSync(mark, '');
    const top = higher(ownTop, p?.f);
    return { self, writer: top?.region ?? r.primary, top, unreachable: p ? [] : [peer.description] };
  } finally {
    await Promise.all([own.close(), peer.close()]);
  }
}

// A cut-off peer is asked again only after PEER_RETRY_MS: archiving (one wal-push per segment)
// must not pay PEER_TIMEOUT_MS per segment while the other region is down.
const PEER_RETRY_MS = 30_000;

function peerDownMark(description: string): string | undefined {
  const dir = cacheDir();
  return dir && join(dir, `peer-down-${createHash('sha256').update(description).digest('hex').slice(0, 16)}`);
}

function recentlyDown(mark: string): boolean {
  try {
    return Date.now() - statSync(mark).mtimeMs < PEER_RETRY_MS;
  } catch {
    return false;
  }
}

export function fencedError(action: string, st: FenceState): FsdrError {
  const f = st.top;
  const why = f ? `fence epoch ${f.epoch} in ${f.where} (written ${f.at} by ${f.by}) names ${f.region}` : `no fence is written and regions.primary is ${st.writer}`;
  return new FsdrError('FSDR_FENCED', `${action} refused: region ${st.self} is fenced; ${why} as the region that writes`, {
    hint: `this region is not the primary any more: nothing it writes may reach a repository (rejoin it with \`fsdr failback\`)`,
  });
}

/** Throws FSDR_FENCED when this region may not write; a no-op without `regions`. */
export async function assertMayWrite(cfg: Config, action: string): Promise<void> {
  const st = await fenceState(cfg);
  if (st && st.writer !== st.self) throw fencedError(action, st);
}
