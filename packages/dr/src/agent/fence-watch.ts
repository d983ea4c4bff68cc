// The agent of a region that has lost the fence makes its cluster refuse writes, on start and on
// every check after (an old primary started again after a failover is caught within one interval).
import type { Config } from '../config/load.js';
import { describeError } from '../errors.js';
import { enforceFence, fenceReason } from '../failover/fence-enforce.js';
import { log } from '../util/log.js';

export async function checkFence(cfg: Config): Promise<void> {
  try {
    const r = await enforceFence(cfg);
    if (r.fenced && r.readOnly && !r.readOnly.already) {
      log().error({ fence: r.state?.top, terminated: r.readOnly.terminated }, `region ${r.state!.self} is ${fenceReason(r.state!)}: the cluster now refuses writes`);
    }
  } catch (err) {
    log().error({ err: describeError(err) }, 'fence check failed; retrying at the next interval');
  }
}

export async function startFenceWatch(cfg: Config, intervalMs = 15_000): Promise<NodeJS.Timeout> {
  await checkFence(cfg);
  return setInterval(() => void checkFence(cfg), intervalMs);
}
