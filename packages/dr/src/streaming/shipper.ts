// The spool pg_receivewal writes, into the repository: completed segments through the same push
// as archive_command (injected: the CLI and the agent pass a PushPool, which checks the fence and
// stores them create-only, encrypted and bound to their names), and the segment being written as
// <segment>.stream.partial every `partialSeconds` when it grew. Pushed segments are removed from
// the spool, except the newest (pg_receivewal resumes after the newest file it finds).
import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, RepositoryError } from '../errors.js';
import { parseWalName, segmentNumber } from '../postgres/wal-name.js';
import type { Repository } from '../repository/repository.js';
import { log } from '../util/log.js';
import { writtenExtent } from './wal-pages.js';

const SEGMENT = /^[0-9A-F]{24}$/;
const PARTIAL = /^([0-9A-F]{24})\.partial$/;
const HISTORY = /^[0-9A-F]{8}\.history$/;

export interface ShipperOptions {
  spool: string;
  partialSeconds: number;
  /** push one completed segment (PushPool.push) */
  push: (path: string) => Promise<unknown>;
  /** throws when this node may not write (the fence); called before every partial upload */
  mayWrite: (action: string) => Promise<void>;
}

/** What is in the repository from the stream, for the RPO exposure and `fsdr stream --json`. */
export interface StreamedState {
  /** the newest segment pushed whole */
  lastSegment?: string;
  /** the partial uploaded last, and where the whole records in it end */
  partial?: { segment: string; lsn: bigint; at: Date };
  /** the WAL position the repository holds the stream to (for the RPO exposure) */
  storedLsn?: bigint;
  lastError?: string;
}

export class Shipper {
  readonly state: StreamedState = {};
  private stopped = false;
  private done?: Promise<void>;
  private wake?: () => void;
  private uploaded = new Map<string, bigint>();
  /** segments stored whole by this process (the newest stays in the spool: not pushed again every pass) */
  private pushed = new Set<string>();

  constructor(private readonly repo: Repository, private readonly o: ShipperOptions) {}

  start(): void {
    this.done = this.loop();
  }

  /** One pass: completed segments first (in order), then the partial. Exposed for stop()'s final pass. */
  async tick(): Promise<void> {
    const names = (await readdir(this.o.spool)).sort();
    // A timeline switch on the server: pg_receivewal writes the new timeline's history file first.
    for (const h of names.filter((n) => HISTORY.test(n) && !this.pushed.has(n))) {
      await this.o.push(join(this.o.spool, h));
      this.pushed.add(h);
    }
    const done = names.filter((n) => SEGMENT.test(n));
    for (const [i, name] of done.entries()) {
      if (!this.pushed.has(name)) {
        await this.o.push(join(this.o.spool, name));
        this.pushed.add(name);
        // Best effort: a stale partial left behind is ignored (only one past the last full segment counts).
        await this.repo.wal.dropStreamPartial(parseWalName(name)!).catch((err: unknown) => log().warn({ err: describeError(err) }, `streaming: could not remove the partial of ${name}`));
      }
      this.state.lastSegment = name;
      const { walSegmentSize } = await this.repo.readInfo();
      this.stored(BigInt(segmentNumber(parseWalName(name)!, walSegmentSize) + 1) * BigInt(walSegmentSize));
      this.uploaded.delete(name);
      if (i < done.length - 1) {
        await unlink(join(this.o.spool, name)).catch(() => undefined);
        this.pushed.delete(name);
      }
    }
    const partial = names.map((n) => PARTIAL.exec(n)).filter((m) => m !== null).map((m) => m[1]!).at(-1);
    if (partial && !done.includes(partial)) await this.shipPartial(partial);
  }

  private async shipPartial(segment: string): Promise<void> {
    const path = join(this.o.spool, `${segment}.partial`);
    // Unchanged since the last upload: nothing new to store. (Stat before reading: a write in
    // between only makes the next pass upload again.)
    const mtime = await stat(path, { bigint: true }).then((s) => s.mtimeNs, () => undefined);
    if (mtime === undefined || this.uploaded.get(segment) === mtime) return;
    const data = await readFile(path).catch(() => undefined);
    if (!data) return; // completed and renamed meanwhile: the next pass pushes it whole
    const extent = writtenExtent(data);
    if (!extent) return;
    const info = await this.repo.readInfo();
    const sysid = data.readBigUInt64LE(24).toString();
    if (sysid !== info.systemIdentifier) {
      throw new RepositoryError('FSDR_WRONG_CLUSTER', `streamed WAL ${segment} was written by cluster ${sysid}, but repository ${this.repo.name} belongs to cluster ${info.systemIdentifier}`, {
        hint: 'point cluster.connection at the cluster of this repository',
      });
    }
    await this.o.mayWrite(`streamed partial of ${segment}`);
    await this.repo.wal.putStreamPartial(parseWalName(segment)!, data);
    this.uploaded.set(segment, mtime);
    this.state.partial = { segment, lsn: extent.endLsn, at: new Date() };
    this.stored(extent.endLsn);
  }

  private stored(lsn: bigint): void {
    if (this.state.storedLsn === undefined || lsn > this.state.storedLsn) this.state.storedLsn = lsn;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.tick();
        this.state.lastError = undefined;
      } catch (err) {
        this.state.lastError = describeError(err);
        log().error({ err: this.state.lastError }, 'streaming: shipping the spool failed; retrying');
      }
      if (this.stopped) break;
      await new Promise<void>((r) => {
        const t = setTimeout(r, this.o.partialSeconds * 1000);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.done;
  }
}
