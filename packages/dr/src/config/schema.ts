// The one schema of fsdr.yaml. Objects are strict (an unknown key is an error, as a typo in a DR
// config must never be silently ignored) and defaults live here, next to the reason for them.
import { z } from 'zod';
import { Cron } from 'croner';
import { SECRET_REF } from './secret-ref.js';

function cronProblem(expr: string): string | undefined {
  try {
    new Cron(expr, { timezone: 'UTC', paused: true });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** A cron expression (5 or 6 fields, UTC), or "off". */
const cron = z.string().superRefine((v, ctx) => {
  if (v === 'off') return;
  const p = cronProblem(v);
  if (p) ctx.addIssue({ code: 'custom', message: `invalid cron expression "${v}" (${p}); use 5 fields like "0 3 * * *" (UTC) or "off"` });
});

const objective = z.strictObject({ rpoSeconds: z.int().positive(), rtoSeconds: z.int().positive() });

const objectLock = z.strictObject({
  // COMPLIANCE: not even the root account can shorten the lock (the plan's ransomware promise).
  mode: z.enum(['compliance', 'governance']).default('compliance'),
  days: z.int().min(1).max(36500).default(7),
});

const fsRepository = z.strictObject({
  type: z.literal('fs'),
  path: z.string().min(1),
});

// Every S3 request is bounded, so a store that accepts connections and never answers fails an
// archive_command in seconds instead of stalling archiving while pg_wal grows.
const s3Timeouts = z.strictObject({
  // To open the TCP (and TLS) connection.
  connectSeconds: z.int().min(1).max(300).default(5),
  // How long a request may go without a byte sent or received. An idle limit, not a total one:
  // a large upload or download that keeps moving is never cut off; a silent endpoint is.
  idleSeconds: z.int().min(1).max(3600).default(60),
});

const s3Repository = z.strictObject({
  type: z.literal('s3'),
  bucket: z.string().min(3),
  region: z.string().min(1).default('us-east-1'),
  endpoint: z.url().optional(),
  prefix: z.string().default(''),
  forcePathStyle: z.boolean().default(false),
  objectLock: objectLock.optional(),
  timeouts: s3Timeouts.prefault({}),
  // Tries per request (the first included), with the SDK's exponential backoff between them.
  attempts: z.int().min(1).max(10).default(3),
  // The room the bucket may use (S3 sets no limit itself): the agent exports free = quota - stored,
  // so the storage 80 %/90 % alerts cover buckets too. Unset: capacity unknown, no storage alert.
  quotaGiB: z.number().positive().optional(),
});

export const repositorySchema = z.discriminatedUnion('type', [fsRepository, s3Repository]);

// DNS providers: how `fsdr dns set`, recover and failover repoint a name. A DNS name, absolute or
// not (a trailing dot is added); no spaces or newlines, as names reach nsupdate's script.
const dnsName = z.string().regex(/^(?=.{1,253}\.?$)([A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.?$/, 'expected a DNS name such as fs.example.com');
const dnsTimeoutSeconds = z.int().min(1).max(300).default(10);

const rfc2136Provider = z.strictObject({
  type: z.literal('rfc2136'),
  // The zone's primary server (the one that accepts updates), host:port.
  server: z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected host:port, e.g. 10.0.0.53:53'),
  zone: dnsName,
  keyName: dnsName,
  keyAlgorithm: z.enum(['hmac-sha256', 'hmac-sha384', 'hmac-sha512', 'hmac-sha224', 'hmac-sha1']).default('hmac-sha256'),
  keySecret: z.string().regex(SECRET_REF, 'expected env:NAME or file:/path (never the TSIG secret itself)'),
  // Per query or update; an unreachable server fails in this time, naming it.
  timeoutSeconds: dnsTimeoutSeconds,
});

const route53Provider = z.strictObject({
  type: z.literal('route53'),
  hostedZoneId: z.string().regex(/^(\/hostedzone\/)?[A-Z0-9]{1,32}$/, 'expected a hosted zone id such as Z0123456789ABCDEFGHIJ'),
  region: z.string().min(1).default('us-east-1'),
  // Only for an emulator (moto) or a private endpoint; AWS credentials come from the SDK's chain.
  endpoint: z.url().optional(),
  // How long `set` waits for the change to be INSYNC on every Route 53 server.
  timeoutSeconds: z.int().min(1).max(3600).default(120),
});

export const dnsProviderSchema = z.discriminatedUnion('type', [rfc2136Provider, route53Provider]);

/** {{NAME}} placeholders a stack start command may use; filled in when fsdr starts the stack. */
export const STACK_PLACEHOLDERS = ['DATABASE_URL'];
/** {{NAME}} placeholders of stack.switch.template. */
export const SWITCH_PLACEHOLDERS = ['DATABASE_URL', 'DATABASE_HOST', 'DATABASE_PORT', 'DATABASE_NAME'];

const templated = z.string().superRefine((v, ctx) => {
  for (const m of v.matchAll(/\{\{([^}]*)\}\}/g)) {
    if (!STACK_PLACEHOLDERS.includes(m[1]!)) ctx.addIssue({ code: 'custom', message: `unknown placeholder {{${m[1]}}}; available: ${STACK_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}` });
  }
});

// FeatureSignals keys and slugs: ^[a-z0-9][a-z0-9_-]{0,127}$ (workload §1.4).
const envSlug = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,127}$/, 'expected an environment slug (a-z, 0-9, _ and -)');
const secretRef = z.string().regex(SECRET_REF, 'expected env:NAME or file:/path (never the secret itself)');
const urlPath = z.string().regex(/^\/[^\s?#]*$/, 'expected a path starting with /');

// How FeatureSignals runs beside the database. Checks speak only the public API real SDKs call
// (evaluation endpoints with X-API-Key, /health, /ready), so they work against a real deployment.
const stack = z.strictObject({
  // The server's base URL, as the SDKs are configured with it.
  url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
  // A server API key per environment slug: the golden set is captured through these environments.
  keys: z.record(envSlug, secretRef).refine((k) => Object.keys(k).length > 0, 'expected at least one environment: { prod: env:FS_PROD_KEY }'),
  // How `fsdr recover` starts the server on a restored database (argv, no shell; {{DATABASE_URL}}
  // is filled in). Secrets for its environment go in secretEnv as references, never inline.
  start: z
    .strictObject({
      command: z.array(templated).min(1),
      env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'), templated).default({}),
      secretEnv: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'), secretRef).default({}),
      // Where recover checks the started server (default http://127.0.0.1:<PORT>): for a hook
      // that starts it elsewhere (a Kubernetes rollout), its service URL.
      checkUrl: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(),
    })
    .optional(),
  // The database FeatureSignals keeps its tables in, within the cluster (default: the database
  // of cluster.connection): recover points the restored DATABASE_URL at it and reads its audit log.
  database: z.string().min(1).optional(),
  readyPath: urlPath.default('/ready'),
  healthPath: urlPath.default('/health'),
  // Traffic switch by connection-string target, the alternative to DNS (--dns-name wins when given):
  // the file the application reads is rewritten atomically from the template once every check passed.
  switch: z
    .strictObject({
      kind: z.literal('connection-file'),
      path: z.string().min(1),
      // {{DATABASE_URL}}, or its parts for a PgBouncer ini: {{DATABASE_HOST}} {{DATABASE_PORT}} {{DATABASE_NAME}}
      template: z.string().superRefine((v, ctx) => {
        for (const m of v.matchAll(/\{\{([^}]*)\}\}/g)) {
          if (!SWITCH_PLACEHOLDERS.includes(m[1]!)) ctx.addIssue({ code: 'custom', message: `unknown placeholder {{${m[1]}}}; available: ${SWITCH_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}` });
        }
      }).default('DATABASE_URL={{DATABASE_URL}}\n'),
      // The host the application reaches the recovered instance at (default 127.0.0.1: this host).
      host: z.string().min(1).optional(),
    })
    .optional(),
  // The customer's integration suite, run after the built-in checks with DATABASE_URL and
  // FS_SERVER_URL of the recovered stack in its environment; a non-zero exit stops the recovery.
  integrationCommand: z
    .strictObject({
      command: z.array(z.string()).min(1),
      env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'), z.string()).default({}),
      timeoutSeconds: z.int().min(1).max(86400).default(600),
    })
    .optional(),
});

const clusterSchema = z.strictObject({
  connection: z.string().min(1),
  pgdata: z.string().min(1),
  binDir: z.string().optional(),
});

// Regional failover (active-passive): two regions, each with its own cluster, repository, stack
// and DNS answer. The fence (repository `fence/<epoch>`) decides which region may write; `primary`
// only names the writer until the first failover writes a fence.
const regionName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected a region name of a-z, 0-9 and - (e.g. eu-west)').refine((n) => n !== 'primary', 'a region cannot be named "primary" (that name is the repository of this region)');
const region = z.strictObject({
  cluster: clusterSchema,
  // The standby region's is the replica that `fsdr replicate` fills from the primary's.
  repository: repositorySchema,
  stack: stack.optional(),
  // What the service name must answer when this region serves (one A/AAAA address or a CNAME target).
  dns: z.strictObject({ provider: z.string().optional(), name: dnsName, address: z.string().min(1) }).optional(),
});
const regions = z
  .strictObject({
    primary: regionName,
    standby: regionName,
    // Which of the two this configuration runs in: its cluster, repository and stack become the
    // top-level ones (default: primary). Each region's node has its own file with its own `self`.
    self: regionName.optional(),
    members: z.record(regionName, region),
  })
  .superRefine((r, ctx) => {
    if (r.primary === r.standby) ctx.addIssue({ code: 'custom', path: ['standby'], message: `must name another region than primary (${r.primary})` });
    for (const k of ['primary', 'standby', 'self'] as const) {
      const n = r[k];
      if (n && !r.members[n]) ctx.addIssue({ code: 'custom', path: [k], message: `no region "${n}" under regions.members (have: ${Object.keys(r.members).join(', ') || 'none'})` });
    }
    const extra = Object.keys(r.members).filter((n) => n !== r.primary && n !== r.standby);
    if (extra.length) ctx.addIssue({ code: 'custom', path: ['members'], message: `only the primary and the standby region are supported; remove ${extra.join(', ')}` });
  });

// Alert webhooks: the agent evaluates the shipped alert rules itself (src/alerts) and posts each
// state change. The URL may be a secret reference, as Slack-style URLs carry their secret in the path.
const webhookUrl = z.string().superRefine((v, ctx) => {
  if (SECRET_REF.test(v)) return;
  try {
    if (/^https?:$/.test(new URL(v).protocol)) return;
  } catch { /* reported below */ }
  ctx.addIssue({ code: 'custom', message: 'expected an http:// or https:// URL, or env:NAME / file:/path holding one' });
});

const alerts = z.strictObject({
  webhooks: z.array(z.strictObject({
    url: webhookUrl,
    // Extra request headers (Authorization…), each a secret reference.
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/, 'expected an HTTP header name'), secretRef).default({}),
    format: z.enum(['alertmanager', 'slack']).default('alertmanager'),
  })).default([]),
  // Resend a firing alert this often (0: once per state change only, like repeat_interval unset).
  repeatIntervalSeconds: z.int().min(0).max(30 * 86400).default(0),
  // Tries per notification (the first included), with exponential backoff from 1 s up to 5 min.
  attempts: z.int().min(1).max(20).default(6),
  timeoutSeconds: z.int().min(1).max(300).default(10),
});

// In-region automatic failover (the plan's instance failure): Patroni nodes on an etcd lease. fsdr
// does no leader election of its own; `fsdr ha config` writes each node's patroni.yml from this.
const haNodeName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'expected a node name of a-z, 0-9, _ and - (e.g. pg-a)');
const hostPort = z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected host:port, e.g. 10.0.0.11:2379');
const haNode = z.strictObject({
  name: haNodeName,
  // The address the other nodes, HAProxy and fsdr reach this node at (PostgreSQL and the REST API).
  host: z.string().min(1),
  port: z.int().min(1).max(65535).default(5432),
  restApiPort: z.int().min(1).max(65535).default(8008),
  pgdata: z.string().min(1),
  binDir: z.string().optional(),
  // Where Patroni keeps its password file (default: beside pgdata, <pgdata>.pgpass).
  pgpass: z.string().optional(),
});
const haAuth = z.strictObject({ username: z.string().min(1), password: secretRef.optional() });
const ha = z
  .strictObject({
    // The Patroni cluster name (the etcd key prefix under namespace).
    scope: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'expected a cluster name of letters, digits, _ . -').default('featuresignals'),
    namespace: z.string().regex(/^\/([A-Za-z0-9_.-]+\/)*$/, 'expected an etcd key prefix such as /service/').default('/service/'),
    // Which node this configuration runs on: `fsdr ha config` prints its patroni.yml by default and
    // the agent runs its archiving and backup jobs only while this node is the leader.
    self: haNodeName.optional(),
    nodes: z.array(haNode).min(1),
    // The address applications connect through (HAProxy in front of the nodes), for `fsdr drill
    // instance`'s writer: postgres://user@haproxy:5000/featuresignals.
    clientConnection: z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// connection string (the HAProxy address clients use)').optional(),
    // etcd 3.4 through its v3 API (Patroni's etcd3: section), host:port per member.
    etcd: z.strictObject({ hosts: z.array(hostPort).min(1), protocol: z.enum(['http', 'https']).default('http') }),
    // The leader lease. Patroni's rule: loopWait + 2 x retryTimeout <= ttl. The defaults aim at an
    // RTO under 60 s (reference/failover.md §5): the lease expires within 20 s of a node's loss.
    ttl: z.int().min(5).max(3600).default(20),
    loopWait: z.int().min(1).max(600).default(5),
    retryTimeout: z.int().min(1).max(600).default(5),
    // A replica further behind the leader than this (bytes) is never promoted.
    maximumLagOnFailover: z.int().min(0).default(1048576),
    // 0: a crashed primary fails over at once instead of being restarted in place (Patroni's default 300 s).
    primaryStartTimeout: z.int().min(0).max(86400).default(0),
    // Synchronous replication: a commit returns once a replica has it, so failover loses none.
    synchronous: z.boolean().default(false),
    // With synchronous: refuse commits while no replica is there (else writes go on unprotected).
    synchronousStrict: z.boolean().default(false),
    // Patroni 3.0 failsafe_mode: with etcd unreachable, the primary keeps serving while it can reach
    // every member's REST API, instead of demoting itself after retryTimeout.
    failsafeMode: z.boolean().default(true),
    superuser: haAuth.default({ username: 'postgres' }),
    replication: haAuth.default({ username: 'replicator' }),
    // Extra PostgreSQL settings for every node (fsdr's archiving settings win).
    parameters: z.record(z.string().regex(/^[a-z_][a-z0-9_.]*$/, 'expected a PostgreSQL setting name'), z.union([z.string(), z.number(), z.boolean()])).default({}),
    // How a new replica is built: from the repository (fsdr restore, no load on the leader, works
    // with the leader gone), then pg_basebackup from the leader if that fails.
    replicaMethods: z.array(z.enum(['fsdr', 'basebackup'])).min(1).default(['fsdr', 'basebackup']),
  })
  .superRefine((h, ctx) => {
    if (h.loopWait + 2 * h.retryTimeout > h.ttl) ctx.addIssue({ code: 'custom', path: ['ttl'], message: `must be at least loopWait + 2 x retryTimeout (${h.loopWait} + 2 x ${h.retryTimeout} = ${h.loopWait + 2 * h.retryTimeout}), Patroni's rule for the leader lease` });
    const seen = new Set<string>();
    h.nodes.forEach((n, i) => {
      if (seen.has(n.name)) ctx.addIssue({ code: 'custom', path: ['nodes', i, 'name'], message: `duplicate node name "${n.name}"` });
      seen.add(n.name);
    });
    const addrs = new Map<string, string>();
    h.nodes.forEach((n, i) => {
      for (const [what, port] of [['port', n.port], ['restApiPort', n.restApiPort]] as const) {
        const a = `${n.host}:${port}`;
        const other = addrs.get(a);
        if (other) ctx.addIssue({ code: 'custom', path: ['nodes', i, what], message: `${a} is already used by ${other}` });
        addrs.set(a, `${n.name}.${what}`);
      }
    });
    if (h.self && !h.nodes.some((n) => n.name === h.self)) ctx.addIssue({ code: 'custom', path: ['self'], message: `no node "${h.self}" under ha.nodes (have: ${h.nodes.map((n) => n.name).join(', ')})` });
    if (h.synchronous && h.nodes.length < 2) ctx.addIssue({ code: 'custom', path: ['synchronous'], message: 'synchronous replication needs at least two nodes' });
  });

export const configSchema = z.strictObject({
  cluster: clusterSchema.optional(),
  // Required without `regions` (where it is derived from the regions; see config/regions.ts).
  repositories: z.object({ primary: repositorySchema.optional() }).catchall(repositorySchema).optional(),
  regions: regions.optional(),
  ha: ha.optional(),
  encryption: z.strictObject({
    masterKey: z.string().regex(SECRET_REF, 'expected env:NAME or file:/path (never the key itself)'),
  }),
  compression: z
    .strictObject({
      algorithm: z.enum(['zstd', 'none']).default('zstd'),
      level: z.int().min(1).max(19).default(3),
    })
    .prefault({}),
  archive: z
    .strictObject({
      // Async: wal-push answers from a spool that a background pusher fills in parallel, reading
      // pg_wal/archive_status/*.ready ahead of PostgreSQL, so archiving keeps up under heavy load.
      async: z.boolean().default(false),
      processes: z.int().min(1).max(32).default(4),
      spoolPath: z.string().optional(),
      // How long one wal-push waits for the async pusher before failing (PostgreSQL then retries).
      timeoutSeconds: z.int().min(1).max(3600).default(60),
      // Async recovery: the prefetcher keeps up to `depth` segments decoded (or in flight) ahead of
      // the one PostgreSQL replays, never more than maxMiB in the spool; restore_command waits for
      // a segment in flight instead of fetching it twice.
      prefetch: z
        .strictObject({
          depth: z.int().min(1).max(1024).default(32),
          maxMiB: z.int().min(16).max(65536).default(1024),
        })
        .prefault({}),
      // Streaming (`fsdr stream`, or the agent): pg_receivewal on a physical replication slot into a
      // local spool; completed segments are pushed as archive_command's are, and the segment being
      // written is uploaded as <segment>.stream.partial every partialSeconds, so the newest
      // recoverable point trails the primary by about that. `true` takes every default.
      streaming: z
        .union([
          z.boolean().transform((enabled) => ({ enabled })),
          z.strictObject({
            enabled: z.boolean().default(true),
            slot: z.string().regex(/^[a-z0-9_]{1,63}$/, 'expected a replication slot name of a-z, 0-9 and _').optional(),
            synchronous: z.boolean().optional(),
            partialSeconds: z.number().min(0.2).max(3600).optional(),
            spoolPath: z.string().optional(),
          }),
        ])
        .prefault(false)
        .pipe(
          z.strictObject({
            enabled: z.boolean(),
            slot: z.string().default('fsdr'),
            synchronous: z.boolean().default(false),
            partialSeconds: z.number().default(2),
            spoolPath: z.string().optional(),
          }),
        ),
    })
    .prefault({}),
  backup: z
    .strictObject({
      // Parallel bundle writers (backup) and readers (restore), as pgBackRest's process-max.
      processes: z.int().min(1).max(32).default(2),
      // Files are packed into bundles of about this size: few objects, few S3 PUTs.
      bundleSizeMiB: z.int().min(1).max(4096).default(64),
      // Block-level incremental (pgBackRest's repo-block): relation files of at least this many
      // KiB are stored with a block map, so an incremental stores only their changed blocks. 0: off.
      blockMinFileKiB: z.int().min(0).default(128),
      // Bytes per block of the map (a power of two, one to 128 PostgreSQL pages): smaller stores
      // fewer unchanged bytes per changed page, larger keeps the map (in every manifest) smaller.
      blockSizeKiB: z.literal([8, 16, 32, 64, 128, 256, 512, 1024]).default(16),
    })
    .prefault({}),
  retention: z
    .strictObject({
      // The plan: daily backups kept 30 days. Backups that ended within `days` are kept.
      days: z.int().min(1).max(36500).default(30),
      // Whatever their age, the newest backups are never all expired.
      minBackups: z.int().min(1).max(1000).default(1),
      dumpDays: z.int().min(1).max(36500).optional(),
    })
    .prefault({}),
  schedule: z
    .strictObject({
      // UTC. The plan: full backup daily at 03:00, kept 30 days, in another region within the hour.
      backup: cron.default('0 3 * * *'),
      backupType: z.enum(['full', 'incr']).default('full'),
      dump: cron.default('0 3 * * *'),
      expire: cron.default('30 4 * * *'),
      replicate: cron.default('*/5 * * * *'),
      verify: cron.default('0 5 * * 0'),
      // The plan's weekly automated backup verification: a real restore of the latest backup.
      drillVerify: cron.default('0 6 * * 0'),
      // The plan's monthly tabletop: the agent prepares the agenda on the 1st (evidence without participants).
      drillTabletop: cron.default('0 9 1 * *'),
      // The plan's quarterly restore drill: the whole stack recovered in isolation (off without stack.start).
      drillRestore: cron.default('0 7 1 1,4,7,10 *'),
      // The plan's biannual failover drill (off without drill.failover.peerConfig and regions).
      drillFailover: cron.default('0 8 2 1,7 *'),
      // Golden evaluation captures through the live server (off without a stack section).
      golden: cron.default('0 * * * *'),
    })
    .prefault({}),
  stack: stack.optional(),
  drill: z
    .strictObject({
      // Where drills put the temporary data directory of the restored copy (default: os.tmpdir()).
      // It needs room for the whole database.
      workDir: z.string().min(1).optional(),
      // Restore (files + WAL replay) of the drill's copy; longer is a failure.
      timeoutSeconds: z.int().min(1).max(7 * 86400).default(3600),
      // Exact count(*) per table is bounded: a table that takes longer is counted by ANALYZE
      // (an estimate, and the evidence says so), so a huge table cannot stall the drill.
      countTimeoutSeconds: z.int().min(1).max(86400).default(60),
      // How long the server started on a drill's copy (drill verify's golden step) may take to be ready.
      readyTimeoutSeconds: z.int().min(1).max(3600).default(120),
      // The writer behind a measured RPO: drills commit a row every intervalMs for `seconds` to the
      // source, in their own schema fsdr_drill (dropped after), then restore and look for the last
      // one. Off by default: it writes to the source, which is production (needs CREATE on the
      // database and pg_switch_wal); without it the evidence says RPO was not measured and why.
      writer: z
        .strictObject({
          enabled: z.boolean().default(false),
          seconds: z.int().min(1).max(3600).default(10),
          intervalMs: z.int().min(10).max(60_000).default(100),
          // How long the writer waits for its first segment to be archived (so the copy holds the table).
          anchorTimeoutSeconds: z.int().min(1).max(3600).default(60),
        })
        .prefault({}),
      // The biannual regional failover drill (fsdr drill failover), run on the standby region's
      // node: the primary region's node configuration, and how long the new region serves before
      // the failback (a day in production, seconds in a test environment).
      failover: z
        .strictObject({
          peerConfig: z.string().min(1).optional(),
          serveSeconds: z.int().min(0).max(30 * 86400).default(86400),
        })
        .prefault({}),
    })
    .prefault({}),
  agent: z
    .strictObject({
      listen: z.string().regex(/^[^:]+:\d+$/, 'expected host:port').default('127.0.0.1:9187'),
      // Bearer token for /status and /metrics (/health stays open for liveness probes).
      token: z.string().regex(SECRET_REF, 'expected env:NAME or file:/path (never the token itself)').optional(),
      // On SIGTERM, how long a running job may take to finish before it is abandoned.
      stopTimeoutSeconds: z.int().min(0).max(86400).default(300),
      // How often the agent measures exposure, lag and storage (and evaluates its alert rules).
      monitorIntervalSeconds: z.int().min(1).max(3600).default(30),
      // A failed scheduled run is retried with exponential backoff while its next occurrence is ahead.
      retry: z
        .strictObject({
          attempts: z.int().min(0).max(100).default(5),
          initialSeconds: z.int().min(1).max(86400).default(60),
          maxSeconds: z.int().min(1).max(86400).default(1800),
        })
        .prefault({}),
    })
    .prefault({}),
  alerts: alerts.prefault({}),
  dns: z
    .strictObject({
      // The plan: cut over with TTL 60 s, so resolvers follow a repoint within a minute.
      ttl: z.int().min(1).max(86400).default(60),
      providers: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected a provider name of letters, digits, - or _'), dnsProviderSchema),
    })
    .optional(),
  objectives: z
    .strictObject({
      databaseCorruption: objective.default({ rpoSeconds: 300, rtoSeconds: 1800 }),
      regionFailure: objective.default({ rpoSeconds: 3600, rtoSeconds: 14400 }),
      instanceFailure: objective.default({ rpoSeconds: 300, rtoSeconds: 900 }),
    })
    .prefault({}),
});

type ParsedConfig = z.infer<typeof configSchema>;
/** The validated file; `repositories` is always there (written, or derived from `regions`). */
export type FileConfig = Omit<ParsedConfig, 'repositories'> & { repositories: { primary: RepositoryConfig; [name: string]: RepositoryConfig } };
export type HaConfig = z.infer<typeof ha>;
export type HaNodeConfig = z.infer<typeof haNode>;
export type RegionsConfig = z.infer<typeof regions>;
export type RegionConfig = z.infer<typeof region>;
export type RepositoryConfig = z.infer<typeof repositorySchema>;
export type StackConfig = z.infer<typeof stack>;
export type S3RepositoryConfig = z.infer<typeof s3Repository>;
export type AlertsConfig = z.infer<typeof alerts>;
export type DnsProviderConfig = z.infer<typeof dnsProviderSchema>;
export type Rfc2136ProviderConfig = z.infer<typeof rfc2136Provider>;
export type Route53ProviderConfig = z.infer<typeof route53Provider>;
