// `fsdr fence status|enforce`: which region may write, as the fences in the repositories say, and
// (enforce) making this region's cluster refuse writes when it is not that region.
import type { Config } from '../../config/load.js';
import { FsdrError } from '../../errors.js';
import { enforceFence, fenceReason, type EnforceResult } from '../../failover/fence-enforce.js';
import { fenceState, type FenceState } from '../../failover/fence.js';

function needRegions(cfg: Config): void {
  if (!cfg.regions) throw new FsdrError('FSDR_NO_REGIONS', 'fencing needs regions: in the configuration (a primary and a standby region)', { hint: 'see "Regional failover" in README.md' });
}

export async function runFenceStatus(cfg: Config): Promise<FenceState & { fenced: boolean }> {
  needRegions(cfg);
  const st = (await fenceState(cfg))!;
  return { ...st, fenced: st.writer !== st.self };
}

export async function runFenceEnforce(cfg: Config): Promise<EnforceResult> {
  needRegions(cfg);
  return enforceFence(cfg);
}

export function formatFenceStatus(st: FenceState & { fenced: boolean }): string {
  const f = st.top ? `epoch ${st.top.epoch} (${st.top.by}, ${st.top.at}, read from ${st.top.where})` : 'no fence written yet (regions.primary writes)';
  const lines = [`region ${st.self}: ${st.fenced ? fenceReason(st) : 'may write'}`, `writer: ${st.writer}; fence: ${f}`];
  for (const u of st.unreachable) lines.push(`unreachable (its fences not seen): ${u}`);
  return lines.join('\n');
}
