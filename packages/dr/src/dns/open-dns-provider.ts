// Picks the configured DNS provider and opens it; the backends load lazily (the AWS SDK is heavy
// and an rfc2136 setup never needs it). The TSIG secret is resolved here, from its reference.
import type { FileConfig } from '../config/schema.js';
import { resolveSecret } from '../config/secret-ref.js';
import { ConfigError } from '../errors.js';
import type { DnsProvider } from './provider.js';

/** The provider's name: the one asked for, or the only one configured. */
export function providerName(cfg: Pick<FileConfig, 'dns'>, wanted?: string): string {
  const names = Object.keys(cfg.dns?.providers ?? {});
  if (names.length === 0) throw new ConfigError('dns.providers', 'no DNS provider is configured', { hint: 'add dns.providers.<name> with type rfc2136 or route53 (README: configuration reference)' });
  if (wanted === undefined) {
    if (names.length === 1) return names[0]!;
    throw new ConfigError('dns.providers', `${names.length} DNS providers are configured (${names.join(', ')})`, { hint: 'choose one with --provider NAME', exitCode: 2 });
  }
  if (!names.includes(wanted)) throw new ConfigError(`dns.providers.${wanted}`, `no such DNS provider (configured: ${names.join(', ')})`, { exitCode: 2 });
  return wanted;
}

export async function openDnsProvider(cfg: Pick<FileConfig, 'dns'>, wanted?: string): Promise<DnsProvider> {
  const name = providerName(cfg, wanted);
  const p = cfg.dns!.providers[name]!;
  const key = `dns.providers.${name}`;
  if (p.type === 'rfc2136') {
    const { Rfc2136Provider } = await import('./rfc2136.js');
    const secret = resolveSecret(`${key}.keySecret`, p.keySecret);
    // The secret becomes one line of nsupdate's script: base64 only, never anything that breaks it.
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(secret)) throw new ConfigError(`${key}.keySecret`, 'the TSIG secret is not base64 (as tsig-keygen prints it)');
    return new Rfc2136Provider(p, key, secret);
  }
  const { Route53Provider } = await import('./route53.js');
  return new Route53Provider(p, key);
}
