// The console's data, read through the agent's open repository and kept for a few seconds so a
// page refreshing every 15 s (or several open at once) costs one repository listing, not one each.
// Concurrent callers share the read in flight.
import type { Config } from '../config/load.js';
import type { Repository } from '../repository/repository.js';
import { summarise, type DrillSummary } from '../commands/drill/drill-list.js';
import type { DrillEvidence } from '../repository/drill-catalog.js';
import { FsdrError } from '../errors.js';
import { pitrView, type PitrView } from './pitr.js';

class Cached<T> {
  private value?: { at: number; v: T };
  private inflight?: Promise<T>;
  constructor(private readonly ttlMs: number, private readonly load: () => Promise<T>) {}
  get latest(): T | undefined {
    return this.value?.v;
  }
  get(now = Date.now()): Promise<T> {
    if (this.value && now - this.value.at < this.ttlMs) return Promise.resolve(this.value.v);
    this.inflight ??= this.load().then((v) => {
      this.value = { at: Date.now(), v };
      return v;
    }).finally(() => (this.inflight = undefined));
    return this.inflight;
  }
}

export class ConsoleData {
  private readonly pitrCache: Cached<PitrView>;
  private readonly drillCache: Cached<DrillSummary[]>;

  constructor(cfg: Config, private readonly repo: () => Repository, ttlMs = 5000) {
    this.pitrCache = new Cached(ttlMs, () => pitrView(cfg, repo()));
    this.drillCache = new Cached(ttlMs, async () => {
      const out: DrillSummary[] = [];
      for (const id of await repo().drills.ids()) out.push(summarise(await repo().drills.read(id)));
      return out.reverse();
    });
  }

  pitr(): Promise<PitrView> {
    return this.pitrCache.get();
  }

  /** the recovery windows last read (for /status), without reading the repository */
  get recoveryWindows(): PitrView['recoveryWindows'] | undefined {
    return this.pitrCache.latest?.recoveryWindows;
  }

  drills(): Promise<DrillSummary[]> {
    return this.drillCache.get();
  }

  async drill(id: string): Promise<DrillEvidence> {
    const ids = await this.repo().drills.ids();
    if (!ids.includes(id)) throw new FsdrError('FSDR_DRILL_UNKNOWN', `no drill ${id} in the repository`, { hint: 'the console lists the drills the repository holds' });
    return this.repo().drills.read(id);
  }
}
