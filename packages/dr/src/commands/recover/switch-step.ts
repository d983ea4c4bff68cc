// recover's last step: move traffic to the recovered stack, by DNS (--dns-name) or by rewriting
// the connection file of stack.switch; then release the archiving held until now (the instance
// is the primary from here on, so its new timeline belongs in the repository).
import type { Config } from '../../config/load.js';
import { openDnsProvider } from '../../dns/open-dns-provider.js';
import { impliedType, type DnsChange } from '../../dns/provider.js';
import type { StepOutcome } from '../../drills/steps.js';
import { releaseArchiving } from '../../postgres/archive-hold.js';
import { writeConnectionFile, type ConnectionSwitch } from '../../stack/connection-file.js';
import { dnsAddress } from './address.js';
import { pgUrl } from './recovered-stack.js';

export interface SwitchTarget { dns?: { name?: string; provider?: string; address?: string } }
type Conn = { host: string; port: number; user: string; password?: string; database: string };

/** How this recovery would move traffic, or undefined when it has no way to. */
export function switchKind(cfg: Config, t: SwitchTarget): 'dns' | 'connection-file' | undefined {
  return t.dns?.name ? 'dns' : cfg.stack?.switch ? 'connection-file' : undefined;
}

export function fillSwitchTemplate(template: string, c: Conn): string {
  const vars: Record<string, string> = { DATABASE_URL: pgUrl(c), DATABASE_HOST: c.host, DATABASE_PORT: String(c.port), DATABASE_NAME: c.database };
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (_, k: string) => vars[k] ?? '');
}

export async function switchStep(cfg: Config, t: SwitchTarget, conn: Conn, out: { dns?: DnsChange; connection?: ConnectionSwitch }): Promise<StepOutcome> {
  let detail: Record<string, unknown>;
  if (switchKind(cfg, t) === 'dns') {
    const dns = await openDnsProvider(cfg, t.dns!.provider);
    try {
      const address = t.dns!.address ?? dnsAddress();
      out.dns = await dns.upsert(t.dns!.name!, impliedType(address), [address], cfg.dns?.ttl ?? 60);
      detail = { ...out.dns };
    } finally {
      dns.close();
    }
  } else {
    const sw = cfg.stack!.switch!;
    out.connection = await writeConnectionFile(sw.path, fillSwitchTemplate(sw.template, { ...conn, host: sw.host ?? conn.host }));
    detail = { connectionFile: out.connection };
  }
  const archiveCommand = await releaseArchiving(conn);
  return { ok: true, detail: { ...detail, archiving: { released: true, archiveCommand } } };
}
