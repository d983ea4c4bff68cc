// fsdr drill list|show: the drill evidence in a repository, read through authentication.
import type { Config } from '../../config/load.js';
import { FsdrError } from '../../errors.js';
import type { DrillEvidence } from '../../repository/drill-catalog.js';
import { Repository } from '../../repository/repository.js';

export interface DrillSummary {
  id: string;
  kind: string;
  startTime: string;
  endTime: string;
  seconds: number;
  result: DrillEvidence['result'];
  failure?: DrillEvidence['failure'];
  rtoSeconds?: number;
  rpoExposureSeconds?: number;
  participants?: string[];
}

export function summarise(e: DrillEvidence): DrillSummary {
  return {
    id: e.id, kind: e.kind, startTime: e.startTime, endTime: e.endTime, seconds: (Date.parse(e.endTime) - Date.parse(e.startTime)) / 1000,
    result: e.result, failure: e.failure, rtoSeconds: e.rtoSeconds, rpoExposureSeconds: e.rpoExposureSeconds,
    ...(e.participants ? { participants: e.participants } : {}),
  };
}

export async function listDrills(cfg: Config, repository = 'primary'): Promise<DrillSummary[]> {
  const repo = await Repository.open(cfg, repository);
  try {
    const out: DrillSummary[] = [];
    for (const id of await repo.drills.ids()) out.push(summarise(await repo.drills.read(id)));
    return out;
  } finally {
    await repo.close();
  }
}

export async function showDrill(cfg: Config, id: string, repository = 'primary'): Promise<DrillEvidence> {
  const repo = await Repository.open(cfg, repository);
  try {
    const ids = await repo.drills.ids();
    if (!ids.includes(id)) {
      throw new FsdrError('FSDR_DRILL_UNKNOWN', `no drill ${id} in repository ${repository}`, { hint: `fsdr drill list shows them${ids.length ? `; newest: ${ids[ids.length - 1]}` : ' (none yet: fsdr drill verify)'}` });
    }
    return await repo.drills.read(id);
  } finally {
    await repo.close();
  }
}
