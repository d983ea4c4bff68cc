// Route 53: ChangeResourceRecordSets UPSERT (one transactional change batch), read back with
// ListResourceRecordSets, and GetChange polled until INSYNC — the point where every Route 53
// authoritative server gives the new answer. Credentials come from the AWS SDK's default chain.
import {
  ChangeResourceRecordSetsCommand, GetChangeCommand, GetHostedZoneCommand, ListResourceRecordSetsCommand, Route53Client,
} from '@aws-sdk/client-route-53';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Route53ProviderConfig } from '../config/schema.js';
import { absolute, checkName, checkValue, DnsError, type DnsAnswer, type DnsChange, type DnsProvider, type RecordType } from './provider.js';

export class Route53Provider implements DnsProvider {
  readonly description: string;
  private readonly client: Route53Client;
  private readonly zoneId: string;
  private zoneName?: string;

  constructor(private readonly cfg: Route53ProviderConfig, private readonly key: string) {
    this.zoneId = cfg.hostedZoneId.replace(/^\/hostedzone\//, '');
    this.description = `route53 hosted zone ${this.zoneId}`;
    this.client = new Route53Client({
      region: cfg.region,
      ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
      maxAttempts: 3,
      // Bounded like the S3 client: a silent endpoint fails in seconds, not at the OS's TCP timeout.
      requestHandler: new NodeHttpHandler({ connectionTimeout: 5000, socketTimeout: 30_000 }),
    });
  }

  private mapError(op: string, err: unknown): never {
    throw route53Error(op, err, { zoneId: this.zoneId, key: this.key, where: this.cfg.endpoint ?? `region ${this.cfg.region}` });
  }

  /** The hosted zone's name; asking first also turns a wrong zone id into one clear error. */
  private async zone(): Promise<string> {
    if (this.zoneName) return this.zoneName;
    try {
      const r = await this.client.send(new GetHostedZoneCommand({ Id: this.zoneId }));
      return (this.zoneName = absolute(r.HostedZone!.Name!));
    } catch (err) {
      this.mapError('GetHostedZone', err);
    }
  }

  async current(name: string, type: RecordType): Promise<DnsAnswer> {
    const n = checkName(name, await this.zone(), `${this.key}.hostedZoneId`);
    try {
      // Listing starts at (name, type) in Route 53's order: the first set is ours if it exists.
      const r = await this.client.send(new ListResourceRecordSetsCommand({ HostedZoneId: this.zoneId, StartRecordName: n, StartRecordType: type, MaxItems: 1 }));
      const set = r.ResourceRecordSets?.find((s) => absolute(s.Name ?? '') === n && s.Type === type);
      if (!set) return { name: n, type, values: [] };
      const values = (set.ResourceRecords ?? []).map((x) => (type === 'CNAME' ? absolute(x.Value!) : x.Value!)).sort();
      return { name: n, type, ...(set.TTL === undefined ? {} : { ttl: set.TTL }), values };
    } catch (err) {
      this.mapError('ListResourceRecordSets', err);
    }
  }

  async upsert(name: string, type: RecordType, values: string[], ttl: number): Promise<DnsChange> {
    const n = checkName(name, await this.zone(), `${this.key}.hostedZoneId`);
    const vals = values.map((v) => checkValue(type, v));
    const old = await this.current(n, type);
    let changeId: string;
    try {
      const r = await this.client.send(new ChangeResourceRecordSetsCommand({
        HostedZoneId: this.zoneId,
        ChangeBatch: {
          Comment: 'fsdr dns set',
          Changes: [{ Action: 'UPSERT', ResourceRecordSet: { Name: n, Type: type, TTL: ttl, ResourceRecords: vals.map((Value) => ({ Value })) } }],
        },
      }));
      changeId = r.ChangeInfo!.Id!;
      await this.waitInSync(changeId, r.ChangeInfo!.Status);
    } catch (err) {
      this.mapError('ChangeResourceRecordSets', err);
    }
    return { provider: this.description, name: n, type, old, new: await this.current(n, type) };
  }

  private async waitInSync(id: string, status: string | undefined): Promise<void> {
    const deadline = Date.now() + this.cfg.timeoutSeconds * 1000;
    while (status !== 'INSYNC') {
      if (Date.now() > deadline) {
        throw new DnsError('FSDR_DNS_PENDING', `Route 53 change ${id} in ${this.zoneId} is still ${status} after ${this.cfg.timeoutSeconds}s`, {
          hint: `the change was accepted and will apply; check with aws route53 get-change --id ${id}, or raise ${this.key}.timeoutSeconds`,
        });
      }
      await new Promise((r) => setTimeout(r, 2000));
      status = (await this.client.send(new GetChangeCommand({ Id: id }))).ChangeInfo?.Status;
    }
  }

  close(): void {
    this.client.destroy();
  }
}

/** Route 53's failures as FsdrErrors that say what to fix (exported for its test). */
export function route53Error(op: string, err: unknown, at: { zoneId: string; key: string; where: string }): DnsError {
  if (err instanceof DnsError) return err;
  const e = err as { name?: string; message?: string; $metadata?: unknown };
  const name = e.name ?? '';
  const msg = String(e.message ?? err).split('\n')[0];
  if (name === 'NoSuchHostedZone') {
    return new DnsError('FSDR_DNS_ZONE', `Route 53 has no hosted zone ${at.zoneId} (${op})`, { hint: `set ${at.key}.hostedZoneId to the zone's id (aws route53 list-hosted-zones)`, cause: err });
  }
  if (name === 'InvalidChangeBatch' || name === 'InvalidInput') {
    return new DnsError('FSDR_DNS_INVALID_CHANGE', `Route 53 refused the change in ${at.zoneId}: ${msg}; nothing was changed`, { hint: 'a CNAME cannot share its name with other records, and names must lie inside the hosted zone', cause: err });
  }
  if (name === 'CredentialsProviderError' || /InvalidClientTokenId|SignatureDoesNotMatch|AccessDenied|UnrecognizedClient/.test(name)) {
    return new DnsError('FSDR_DNS_CREDENTIALS', `Route 53 ${op} in ${at.zoneId}: credentials missing or refused (${name})`, { hint: 'set AWS credentials for the user running fsdr (env, AWS_PROFILE or an instance role) with route53:ChangeResourceRecordSets, ListResourceRecordSets, GetChange, GetHostedZone', cause: err });
  }
  if (!e.$metadata || /ECONN|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|socket hang up/i.test(msg)) {
    return new DnsError('FSDR_DNS_UNREACHABLE', `Route 53 (${at.where}) could not be reached: ${msg}`, { hint: `check the network and ${at.key}.endpoint/region`, cause: err });
  }
  return new DnsError('FSDR_DNS_ROUTE53', `Route 53 ${op} in ${at.zoneId} failed: ${name} ${msg}`, { cause: err });
}
