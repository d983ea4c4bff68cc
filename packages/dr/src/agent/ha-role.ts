// Under Patroni (ha:), this agent follows its node's role: Patroni's GET /primary answers 200 only
// on the node holding the leader lock (503 on replicas), which is what HAProxy routes by too. An
// unreachable REST API counts as "not the leader": skipping a backup is safe, two are not.
import type { Config } from '../config/load.js';
import { FsdrError } from '../errors.js';
import { haNode } from '../ha/patroni-config.js';
import { PatroniClient } from '../ha/patroni-rest.js';
import type { AgentMetrics } from './metrics.js';

export type HaRole = 'leader' | 'replica' | 'unknown';

export class HaRoleWatch {
  private readonly client: PatroniClient;
  role: HaRole = 'unknown';
  error?: string;

  constructor(cfg: Config, private readonly metrics: AgentMetrics) {
    if (!cfg.ha!.self) {
      throw new FsdrError('FSDR_HA_SELF', 'ha.self must name this node: the agent runs backups only while its node is the Patroni leader', { hint: `set ha.self to one of ${cfg.ha!.nodes.map((n) => n.name).join(', ')} in this node's fsdr.yaml`, exitCode: 2 });
    }
    const node = haNode(cfg.ha!, cfg.ha!.self);
    this.client = PatroniClient.forNode(node.host, node.restApiPort);
  }

  /** Asks Patroni now; updates fsdr_ha_role. */
  async refresh(): Promise<HaRole> {
    try {
      this.role = (await this.client.isPrimary()) ? 'leader' : 'replica';
      delete this.error;
    } catch (err) {
      this.role = 'unknown';
      this.error = (err as Error).message;
    }
    this.metrics.setHaRole(this.role);
    return this.role;
  }

  /** The scheduler's gate: undefined when this node leads, else why it does not. */
  readonly gate = async (): Promise<string | undefined> => {
    const r = await this.refresh();
    if (r === 'leader') return undefined;
    return r === 'replica' ? 'this node is a Patroni replica (GET /primary answered 503)' : `this node's Patroni REST API did not answer (${this.error})`;
  };
}
