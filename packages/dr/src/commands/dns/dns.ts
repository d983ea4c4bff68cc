// `fsdr dns show|set`: read a name's answer, or repoint it by hand, through the configured
// provider. The same calls recover and failover make; the result carries the old and new answer.
import type { Config } from '../../config/load.js';
import { openDnsProvider } from '../../dns/open-dns-provider.js';
import { impliedType, type DnsAnswer, type DnsChange, type RecordType } from '../../dns/provider.js';

export interface DnsShowResult extends DnsAnswer {
  provider: string;
}

export async function dnsShow(cfg: Config, o: { name: string; type?: RecordType; provider?: string }): Promise<DnsShowResult> {
  const p = await openDnsProvider(cfg, o.provider);
  try {
    return { provider: p.description, ...(await p.current(o.name, o.type ?? 'A')) };
  } finally {
    p.close();
  }
}

export async function dnsSet(cfg: Config, o: { name: string; address: string; type?: RecordType; ttl?: number; provider?: string }): Promise<DnsChange> {
  const p = await openDnsProvider(cfg, o.provider);
  try {
    return await p.upsert(o.name, o.type ?? impliedType(o.address), [o.address], o.ttl ?? cfg.dns!.ttl);
  } finally {
    p.close();
  }
}

export function formatAnswer(a: DnsAnswer): string {
  return a.values.length ? `${a.values.join(', ')} (TTL ${a.ttl})` : '(no record)';
}
