// fsdr golden capture|list|show: golden evaluation sets recorded through the live server and kept
// in the repository, each with the cluster's WAL position right after it, so `recover` can pick
// the newest capture at or before its target. A failed capture writes nothing.
import { MISSING_FLAGS } from '@featuresignals/server';
import type { Config } from '../../config/load.js';
import { resolveSecret } from '../../config/secret-ref.js';
import { ConfigError, FsdrError, RepositoryError } from '../../errors.js';
import { lossOr, readWalPosition } from '../../postgres/cluster.js';
import { newGoldenId, type GoldenCapture } from '../../repository/golden-catalog.js';
import { Repository } from '../../repository/repository.js';
import { captureGolden } from '../../stack/golden-capture.js';
import { openClusterSession, type ClusterSession } from '../cluster-session.js';

export async function runGoldenCapture(cfg: Config): Promise<GoldenCapture> {
  const stack = cfg.stack;
  if (!stack) throw new ConfigError('stack', 'required for fsdr golden capture (url and keys of the FeatureSignals server)');
  const keys = Object.fromEntries(Object.entries(stack.keys).map(([env, ref]) => [env, resolveSecret(`stack.keys.${env}`, ref)]));
  // With a cluster: a session checked to be the repository's cluster, for the LSN after the capture.
  let session: ClusterSession | undefined;
  let repo: Repository;
  if (cfg.cluster) {
    session = await openClusterSession(cfg, 'golden capture');
    repo = session.repo;
  } else {
    repo = await Repository.open(cfg);
  }
  try {
    if (!session) await repo.readInfo();
    const record = await captureGolden({ url: stack.url, keys, healthPath: stack.healthPath });
    const capture: GoldenCapture = {
      format: 1, id: newGoldenId(new Date(record.asOf)), capturedAt: record.asOf, server: stack.url,
      envs: Object.fromEntries(Object.entries(record.envs).map(([env, e]) => [env, { version: e.version, dbid: e.dbid, rulesetSha256: e.rulesetSha256 }])),
      fingerprint: record.fingerprint, record,
    };
    if (session) {
      // Read after the capture: every state the capture saw is at or before this LSN.
      const pos = await readWalPosition(session.client).catch((err: unknown) => { throw lossOr(session!.client, err); });
      capture.cluster = { systemIdentifier: session.id.systemIdentifier, ...pos };
      for (const [env, e] of Object.entries(capture.envs)) {
        if (e.dbid && e.dbid.split(':')[0] !== session.id.systemIdentifier) {
          throw new RepositoryError('FSDR_GOLDEN_WRONG_CLUSTER', `the server at ${stack.url} serves ${env} from database ${e.dbid.split(':')[0]}, not from cluster ${session.id.systemIdentifier} (cluster.connection)`, {
            hint: 'stack.url must be the server of the cluster this repository backs up: nothing was written',
          });
        }
      }
    }
    await repo.golden.write(capture);
    return capture;
  } finally {
    if (session) await session.close();
    else await repo.close();
  }
}

export interface GoldenSummary {
  id: string;
  capturedAt: string;
  server: string;
  lsn?: string;
  timeline?: number;
  envs: Record<string, { version: number; rulesetSha256: string; flags: number; skipped: string[] }>;
  /** flags evaluated, over every environment (the two deliberately missing keys per env not counted) */
  flags: number;
  contexts: number;
  fingerprint: string;
}

export function summariseGolden(c: GoldenCapture): GoldenSummary {
  const envs: GoldenSummary['envs'] = {};
  for (const [env, e] of Object.entries(c.record.envs)) {
    envs[env] = { version: e.version, rulesetSha256: e.rulesetSha256, flags: e.flags.filter((f) => !MISSING_FLAGS.includes(f)).length, skipped: e.skipped };
  }
  return {
    id: c.id, capturedAt: c.capturedAt, server: c.server, lsn: c.cluster?.lsn, timeline: c.cluster?.timeline, envs,
    flags: Object.values(envs).reduce((n, e) => n + e.flags, 0), contexts: c.record.contexts.length, fingerprint: c.fingerprint,
  };
}

export async function listGolden(cfg: Config, repository = 'primary'): Promise<GoldenSummary[]> {
  const repo = await Repository.open(cfg, repository);
  try {
    const out: GoldenSummary[] = [];
    for (const id of await repo.golden.ids()) out.push(summariseGolden(await repo.golden.read(id)));
    return out;
  } finally {
    await repo.close();
  }
}

export async function showGolden(cfg: Config, id: string, repository = 'primary'): Promise<GoldenCapture> {
  const repo = await Repository.open(cfg, repository);
  try {
    const ids = await repo.golden.ids();
    if (!ids.includes(id)) {
      throw new FsdrError('FSDR_GOLDEN_UNKNOWN', `no golden capture ${id} in repository ${repository}`, { hint: `fsdr golden list shows them${ids.length ? `; newest: ${ids[ids.length - 1]}` : ' (none yet: fsdr golden capture)'}` });
    }
    return await repo.golden.read(id);
  } finally {
    await repo.close();
  }
}
