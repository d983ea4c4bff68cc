// fsdr stream: streaming archiving (archive.streaming). Runs pg_receivewal on a replication slot
// into a spool owned by this user and ships it into the primary repository: completed segments
// through the push pool archive_command's async pusher uses, the segment being written as a
// replaced <segment>.stream.partial every partialSeconds. The agent runs the same thing in-process.
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import type { Config } from '../../config/load.js';
import { ConfigError } from '../../errors.js';
import { assertMayWrite } from '../../failover/fence.js';
import { findBinDir } from '../../postgres/binaries.js';
import { formatLsn } from '../../postgres/lsn.js';
import { Repository } from '../../repository/repository.js';
import { Receiver, Shipper, type ReceiverState, type StreamedState } from '../../streaming/index.js';
import { ownedDir } from '../wal-push/spool.js';
import { PushPool } from '../wal-push/push-pool.js';

export function streamSpool(cfg: Config): string {
  return cfg.archive.streaming.spoolPath ?? join(tmpdir(), `fsdr-stream-${createHash('sha1').update(cfg.source).digest('hex').slice(0, 10)}`);
}

export interface RunningStream {
  spool: string;
  receiver: ReceiverState;
  streamed: StreamedState;
  stop(): Promise<void>;
}

export async function startStream(cfg: Config): Promise<RunningStream> {
  const s = cfg.archive.streaming;
  if (!s.enabled) throw new ConfigError('archive.streaming', 'is off: nothing to stream', { hint: 'set archive.streaming: true (or { enabled: true, partialSeconds: 2 }) in the configuration' });
  if (!cfg.cluster) throw new ConfigError('cluster', 'required for streaming archiving (cluster.connection and pgdata)');
  const repo = await Repository.open(cfg);
  const info = await repo.readInfo();
  const binDir = findBinDir(info.pgVersion, cfg.cluster.binDir);
  const spool = ownedDir(streamSpool(cfg));
  const pool = new PushPool(cfg, 1);
  const shipper = new Shipper(repo, {
    spool,
    partialSeconds: s.partialSeconds,
    push: (p) => pool.push(p),
    mayWrite: (action) => (cfg.regions ? assertMayWrite(cfg, action) : Promise.resolve()),
  });
  const receiver = new Receiver({ binDir, connection: cfg.cluster.connection, spool, slot: s.slot, synchronous: s.synchronous });
  receiver.start();
  shipper.start();
  return {
    spool,
    receiver: receiver.state,
    streamed: shipper.state,
    async stop() {
      await receiver.stop();
      // One last pass: what pg_receivewal wrote before it stopped goes in too.
      await shipper.stop();
      await shipper.tick().catch(() => undefined);
      await pool.close();
      await repo.close();
    },
  };
}

/** What /status and `fsdr stream` show: JSON-safe (LSNs as text). */
export function streamingStatus(s: RunningStream): Record<string, unknown> {
  const st = s.streamed;
  return {
    spool: s.spool,
    receiver: s.receiver,
    lastSegment: st.lastSegment,
    partial: st.partial ? { segment: st.partial.segment, lsn: formatLsn(st.partial.lsn), uploadedAt: st.partial.at.toISOString() } : undefined,
    storedLsn: st.storedLsn === undefined ? undefined : formatLsn(st.storedLsn),
    lastError: st.lastError,
  };
}
