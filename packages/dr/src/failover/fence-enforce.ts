// What a fenced region does to its own cluster: refuse writes (postgres/read-only.ts). Run by the
// agent on start and on every fence check, and by `fsdr fence enforce`. Chosen over stopping the
// cluster: the old primary stays inspectable (what did it commit after the fork?) and a pg_rewind
// failback needs it shut down cleanly later, which is then one `pg_ctl stop` away.
import type { Config } from '../config/load.js';
import { connect } from '../postgres/cluster.js';
import { makeReadOnly, type ReadOnlyResult } from '../postgres/read-only.js';
import { fenceState, type FenceState } from './fence.js';

export interface EnforceResult {
  state?: FenceState;
  fenced: boolean;
  readOnly?: ReadOnlyResult;
}

export function fenceReason(st: FenceState): string {
  const f = st.top;
  return f ? `fenced: epoch ${f.epoch} names ${f.region} as the writer (${f.by}, ${f.at})` : `fenced: ${st.writer} is the writer`;
}

export async function enforceFence(cfg: Config): Promise<EnforceResult> {
  const state = await fenceState(cfg);
  if (!state || state.writer === state.self) return { state, fenced: false };
  if (!cfg.cluster) return { state, fenced: true };
  const client = await connect(cfg.cluster.connection, 'fsdr fence');
  try {
    // A standby (in recovery) refuses writes already; only a running primary needs the change.
    const rec = await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
    if (rec.rows[0]!.r) return { state, fenced: true };
    return { state, fenced: true, readOnly: await makeReadOnly(client, fenceReason(state)) };
  } finally {
    await client.end().catch(() => undefined);
  }
}
