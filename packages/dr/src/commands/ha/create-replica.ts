// `fsdr ha create-replica`: Patroni's replica creation method. The new replica is restored from the
// repository (newest backup, WAL to the end of the archive) instead of copied from the leader, so
// building one costs the leader nothing and works while no leader is up; Patroni then writes its
// own primary_conninfo and standby.signal and the replica streams the rest.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../config/load.js';
import { makeStandby } from '../../failover/standby-files.js';
import { haNode } from '../../ha/patroni-config.js';
import { commentOut } from '../restore/recovery-settings.js';
import { runRestore } from '../restore/restore.js';
import { needHa } from './ha-config.js';

/** Settings restore writes that Patroni owns on a node (its postgresql.conf must not be overridden). */
const PATRONI_OWNS = /^(port|unix_socket_directories|listen_addresses)$/;

export async function createReplica(cfg: Config, o: { datadir: string; timeoutMs: number }): Promise<{ backup: string; datadir: string; seconds: number }> {
  const ha = needHa(cfg);
  const node = ha.nodes.find((n) => n.pgdata.replace(/\/+$/, '') === o.datadir.replace(/\/+$/, '')) ?? haNode(ha, undefined);
  const t0 = Date.now();
  const r = await runRestore(cfg, {
    pgdata: o.datadir, port: node.port, target: { kind: 'latest' }, start: false, archive: true, timeline: 'latest', acceptGap: true,
    set: {}, processes: cfg.backup.processes, timeoutMs: o.timeoutMs, repository: 'primary', quiet: true,
  });
  const auto = join(o.datadir, 'postgresql.auto.conf');
  const text = await readFile(auto, 'utf8');
  await writeFile(auto, commentOut(text, (k) => PATRONI_OWNS.test(k), 'fsdr ha create-replica: Patroni sets it'));
  await makeStandby(o.datadir);
  return { backup: r.backup, datadir: o.datadir, seconds: (Date.now() - t0) / 1000 };
}
