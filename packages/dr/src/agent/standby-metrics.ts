// The warm standby's replay lag as Prometheus gauges, read at scrape time (only with regions:).
// On the primary's node the cluster is not in recovery: in_recovery 0 and the lags 0.
import { Gauge, type Registry } from 'prom-client';
import type { Config } from '../config/load.js';
import { standbyStatus, type StandbyStatus } from '../commands/standby/standby.js';
import { log } from '../util/log.js';

export function registerStandbyMetrics(registry: Registry, cfg: Config): void {
  // prom-client collects gauges concurrently: one measurement per scrape, shared by the three.
  let last: { at: number; p: Promise<StandbyStatus | undefined> } | undefined;
  const measure = (): Promise<StandbyStatus | undefined> => {
    if (!last || Date.now() - last.at > 1000) {
      last = { at: Date.now(), p: standbyStatus(cfg).catch((err: Error) => { log().warn({ err: err.message }, 'standby lag not measured'); return undefined; }) };
    }
    return last.p;
  };
  new Gauge({
    name: 'fsdr_standby_in_recovery', help: 'This region\'s cluster is a replaying standby (1) or a primary (0)', registers: [registry],
    async collect() {
      const s = await measure();
      if (s) this.set(s.inRecovery ? 1 : 0);
    },
  });
  new Gauge({
    name: 'fsdr_standby_replay_lag_bytes', help: 'WAL the standby has not replayed: against the newest WAL in its repository, or the primary\'s current position', labelNames: ['against'], registers: [registry],
    async collect() {
      const s = await measure();
      if (!s) return;
      this.set({ against: 'repository' }, s.inRecovery ? s.repository.bytes : 0);
      if (s.primary.reachable) this.set({ against: 'primary' }, s.inRecovery ? s.primary.bytes ?? 0 : 0);
      else this.remove({ against: 'primary' });
    },
  });
  new Gauge({
    name: 'fsdr_standby_replay_lag_seconds', help: 'Age of the oldest WAL in the standby\'s repository it has not replayed', registers: [registry],
    async collect() {
      const s = await measure();
      if (s) this.set(s.inRecovery ? s.repository.seconds : 0);
    },
  });
}
