// `fsdr ha config`: this node's patroni.yml. The commands in it run this same fsdr with this same
// config file, so what Patroni archives and restores is exactly what `fsdr info` lists.
import { chmod, rename, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { Config } from '../../config/load.js';
import { resolveSecret } from '../../config/secret-ref.js';
import { FsdrError } from '../../errors.js';
import { patroniConfig, type PatroniCommands } from '../../ha/patroni-config.js';
import { restoreCommand, shQuote } from '../restore/recovery-settings.js';
import { archiveCommandFor } from '../wal-push/archive-command.js';

const FSDR_BIN = fileURLToPath(new URL('../../../../bin/fsdr.js', import.meta.url));

export function needHa(cfg: Config): NonNullable<Config['ha']> {
  if (!cfg.ha) throw new FsdrError('FSDR_NO_HA', 'this needs an ha: section in the configuration (nodes, etcd)', { hint: 'see "In-region automatic failover" in README.md', exitCode: 2 });
  return cfg.ha;
}

export async function patroniCommands(cfg: Config): Promise<PatroniCommands> {
  const source = resolve(cfg.source);
  const fsdr = `${shQuote(process.execPath)} ${shQuote(FSDR_BIN)} --config ${shQuote(source)}`;
  // With the async pusher, the shell fast path that confirms what the pusher already stored.
  const archive = cfg.archive.async ? (await archiveCommandFor(cfg)).command : `${fsdr} wal-push %p`;
  return { archive, restore: restoreCommand(source), createReplica: `${fsdr} ha create-replica` };
}

export interface HaConfigResult {
  node: string;
  yaml: string;
  /** Where it was written (--out), with mode 0600: it holds the passwords. */
  path?: string;
}

export async function haConfig(cfg: Config, o: { node?: string; out?: string }): Promise<HaConfigResult> {
  const ha = needHa(cfg);
  const cmds = await patroniCommands(cfg);
  // Passwords go only into a 0600 file; printed, the file names the variables Patroni reads instead.
  const pw = o.out
    ? {
        superuser: ha.superuser.password ? resolveSecret('ha.superuser.password', ha.superuser.password) : undefined,
        replication: ha.replication.password ? resolveSecret('ha.replication.password', ha.replication.password) : undefined,
      }
    : {};
  const doc = patroniConfig(ha, o.node, cmds, pw);
  const withPasswords = !!(ha.superuser.password || ha.replication.password);
  const head = [
    `# patroni.yml for node ${String(doc.name)} of ${ha.scope}, written by fsdr ha config from ${resolve(cfg.source)}`,
    ...(withPasswords && !o.out ? ['# passwords left out: set PATRONI_SUPERUSER_PASSWORD and PATRONI_REPLICATION_PASSWORD, or use --out FILE (0600)'] : []),
    ...(withPasswords ? [] : ['# no passwords configured (ha.superuser/replication.password): pg_hba trusts every connection; only for a private test network']),
  ].join('\n');
  const yaml = `${head}\n${stringify(doc, { lineWidth: 0 })}`;
  if (!o.out) return { node: String(doc.name), yaml };
  const tmp = `${o.out}.tmp-${process.pid}`;
  await writeFile(tmp, yaml, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, o.out);
  return { node: String(doc.name), yaml, path: o.out };
}
