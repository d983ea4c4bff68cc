// RFC 2136 dynamic update signed with TSIG, against the zone's primary (BIND, PowerDNS, Knot…).
// The UPDATE is sent by BIND's own nsupdate and the answer read by dig (Debian bind9-dnsutils):
// ISC's TSIG and wire code, kept up by BIND's maintainers, instead of a hand-rolled HMAC over
// dns-packet (which lacks TSIG and class NONE). Both read from stdin; the secret never is an argv.
import type { Rfc2136ProviderConfig } from '../config/schema.js';
import { absolute, checkName, checkValue, DnsError, type DnsAnswer, type DnsChange, type DnsProvider, type RecordType } from './provider.js';
import { digArgs, nsupdateScript, parseDig, parseNsupdate, parseServer, type Server } from './bind-tools.js';
import { runTool } from './run-tool.js';

export class Rfc2136Provider implements DnsProvider {
  readonly description: string;
  private readonly server: Server;
  private readonly zone: string;

  constructor(private readonly cfg: Rfc2136ProviderConfig, private readonly key: string, private readonly secret: string) {
    this.server = parseServer(cfg.server);
    this.zone = absolute(cfg.zone);
    this.description = `rfc2136 ${cfg.server} zone ${this.zone}`;
  }

  private get deadlineMs(): number {
    return (this.cfg.timeoutSeconds + 5) * 1000;
  }

  private unreachable(detail: string): DnsError {
    return new DnsError('FSDR_DNS_UNREACHABLE', `DNS server ${this.cfg.server} did not answer: ${detail} (timeout ${this.cfg.timeoutSeconds}s)`, {
      hint: `check that ${this.cfg.server} is the zone's primary and reachable over TCP and UDP (${this.key}.server, ${this.key}.timeoutSeconds)`,
    });
  }

  async current(name: string, type: RecordType): Promise<DnsAnswer> {
    const n = checkName(name, this.zone, `${this.key}.zone`);
    const r = await runTool('dig', digArgs(this.server, n, type, this.cfg.timeoutSeconds), '', this.deadlineMs);
    const d = parseDig(r.out, n, type);
    if (d.kind === 'answer') return d.answer;
    if (d.kind === 'unreachable') throw this.unreachable(d.detail);
    // REFUSED / NOTAUTH to a query from a primary: it does not serve this zone.
    throw new DnsError('FSDR_DNS_ZONE', `DNS server ${this.cfg.server} answered ${d.status} for ${n}: it does not serve zone ${this.zone}`, {
      hint: `set ${this.key}.server to the zone's primary, or ${this.key}.zone to a zone it serves`,
    });
  }

  async upsert(name: string, type: RecordType, values: string[], ttl: number): Promise<DnsChange> {
    const n = checkName(name, this.zone, `${this.key}.zone`);
    const vals = values.map((v) => checkValue(type, v));
    const old = await this.current(n, type);
    const script = nsupdateScript({ server: this.server, zone: this.zone, keyAlgorithm: this.cfg.keyAlgorithm, keyName: absolute(this.cfg.keyName), keySecret: this.secret, name: n, type, values: vals, ttl });
    // -v: TCP, one exchange; -t: nsupdate's own timeout for it.
    const r = await runTool('nsupdate', ['-v', '-t', String(this.cfg.timeoutSeconds)], script, this.deadlineMs);
    const o = parseNsupdate(r.code, r.out.split(this.secret).join('***'));
    const unchanged = `${n} ${type} is unchanged`;
    switch (o.kind) {
      case 'ok':
        break;
      case 'tsig':
        throw new DnsError('FSDR_DNS_TSIG', `DNS server ${this.cfg.server} refused the TSIG signature of key ${absolute(this.cfg.keyName)} (${o.rcode}); ${unchanged}`, {
          hint: `${this.key}.keySecret (and keyName, keyAlgorithm) must match the key in the server's config; BADTIME means the clocks differ`,
        });
      case 'rcode': {
        const why: Record<string, string> = {
          NOTAUTH: `it is not authoritative for zone ${this.zone}`,
          NOTZONE: `${n} is outside zone ${this.zone}`,
          REFUSED: `key ${absolute(this.cfg.keyName)} may not update zone ${this.zone} (allow-update / update-policy)`,
        };
        const code = o.rcode === 'REFUSED' ? 'FSDR_DNS_REFUSED' : o.rcode === 'NOTAUTH' || o.rcode === 'NOTZONE' ? 'FSDR_DNS_ZONE' : 'FSDR_DNS_UPDATE_FAILED';
        // A refused UPDATE is applied not at all (RFC 2136 §3.7), hence "unchanged".
        throw new DnsError(code,
          `DNS server ${this.cfg.server} rejected the update with ${o.rcode}${why[o.rcode] ? `: ${why[o.rcode]}` : ''}; ${unchanged}`, {
            hint: code === 'FSDR_DNS_REFUSED' ? `grant the key in the zone's allow-update or update-policy on the server` : code === 'FSDR_DNS_ZONE' ? `check ${this.key}.zone and ${this.key}.server (the zone's primary)` : `the server's log says why`,
          });
      }
      case 'unreachable':
        throw this.unreachable(o.detail);
      case 'bad-key':
        throw new DnsError('FSDR_DNS_TSIG', `the TSIG key ${absolute(this.cfg.keyName)} could not be used (${o.detail}); ${unchanged}`, {
          hint: `${this.key}.keySecret must resolve to the base64 secret (as tsig-keygen prints it), ${this.key}.keyAlgorithm to its algorithm`,
          exitCode: 2,
        });
      default:
        throw new DnsError('FSDR_DNS_UPDATE_FAILED', `nsupdate failed against ${this.cfg.server}: ${o.detail}`, { hint: `the server's log says why; check ${this.key}` });
    }
    return { provider: this.description, name: n, type, old, new: await this.current(n, type) };
  }

  close(): void {}
}
