// The plan's restore procedures as data, for this deployment: every command the runbook and the
// tabletop show is built here, from the live config, as an argv array. One source, so the
// runbook, the tabletop and the test that parses every line with the real CLI cannot drift apart.
// Pure: no I/O; what the repositories hold right now comes in as `RunbookState`.
import type { Config } from '../config/load.js';
import { keyId } from '../keys/master-key.js';

/** Values the person at 3 AM fills in; shown as <NAME> until they are given. */
export interface Fill {
  targetTime?: string;
  pgdata?: string;
  port?: number;
  serverUrl?: string;
}

export interface Command {
  /** argv; argv[0] is the program ('fsdr', 'curl', 'pg_isready') */
  argv: string[];
}

export interface Step {
  title: string;
  commands: Command[];
  check: string;
  ifFails: string;
}

export type ScenarioId = 'database-corruption' | 'instance-failure' | 'region-failure' | 'self-hosted';

export interface Scenario {
  id: ScenarioId;
  title: string;
  objectives: string;
  /** what the state says about this scenario now (empty without state) */
  atRisk: string[];
  steps: Step[];
  questions: string[];
}

/** What the repositories hold, as far as they were reachable when the runbook was made. */
export interface RepositoryState {
  name: string;
  location: string;
  error?: string;
  pitr?: Array<{ timeline: number; earliest: string; latest: string }>;
  backups?: number;
  newestBackup?: string;
  walAgeSeconds?: number;
  holes?: number;
  unreadableBackups?: number;
  lagSeconds?: number;
}

export interface DrillState {
  kind: string;
  lastId?: string;
  lastResult?: 'ok' | 'failed';
  lastEndedAt?: string;
  failure?: string;
}

export interface RunbookState {
  at: string;
  repositories: RepositoryState[];
  drills: DrillState[];
}

export const PLACEHOLDER = { targetTime: '<TARGET_TIME>', pgdata: '<NEW_PGDATA>', port: '<PORT>', serverUrl: '<SERVER_URL>' } as const;

export function replicaRepositories(cfg: Pick<Config, 'repositories'>): string[] {
  return Object.keys(cfg.repositories).filter((n) => n !== 'primary');
}

/** The standby region's repository: one named standby, else the first replica. */
export function standbyRepository(cfg: Pick<Config, 'repositories'>): string | undefined {
  const r = replicaRepositories(cfg);
  return r.includes('standby') ? 'standby' : r[0];
}

export function repositoryLocation(cfg: Pick<Config, 'repositories'>, name: string): string {
  const r = cfg.repositories[name]!;
  if (r.type === 'fs') return `directory ${r.path}`;
  return `s3://${r.bucket}/${r.prefix} (region ${r.region}${r.endpoint ? `, endpoint ${r.endpoint}` : ''}${r.objectLock ? `, Object Lock ${r.objectLock.mode} ${r.objectLock.days} days` : ''})`;
}

/** Where the master key comes from: the reference and the key id, never the key. */
export function keySource(cfg: Pick<Config, 'encryption' | 'masterKey'>): string {
  const ref = cfg.encryption.masterKey;
  const id = keyId(cfg.masterKey);
  const where = ref.startsWith('env:')
    ? `the environment variable ${ref.slice(4)} must hold it in the shell that runs fsdr (export it from your secret store first)`
    : `the file ${ref.slice(5)} must exist on the host that runs fsdr (on a new host, copy it from your secret store, mode 0600)`;
  return `encryption.masterKey is ${ref}: ${where}. Its key id is ${id} (fsdr config check prints it); a wrong key fails every read with a key error, it never decrypts garbage. S3 credentials come from the AWS SDK's usual chain (env, profile, role).`;
}

/** Host and port of the cluster, never its credentials (the connection string may carry a password). */
function hostPort(connection?: string): string[] {
  try {
    const u = new URL(connection!);
    return ['-h', decodeURIComponent(u.hostname) || '127.0.0.1', '-p', u.port || '5432'];
  } catch {
    return ['-h', '<HOST>', '-p', '5432'];
  }
}

const dur = (s: number) => (s % 3600 === 0 ? `${s / 3600} h` : s % 60 === 0 ? `${s / 60} min` : `${s} s`);

export function buildScenarios(cfg: Config, state?: RunbookState, fill: Fill = {}): Scenario[] {
  const fsdr = (...args: string[]): Command => ({ argv: ['fsdr', '--config', cfg.source, ...args] });
  const T = fill.targetTime ?? PLACEHOLDER.targetTime;
  const D = fill.pgdata ?? PLACEHOLDER.pgdata;
  const P = fill.port !== undefined ? String(fill.port) : PLACEHOLDER.port;
  const url = fill.serverUrl ?? PLACEHOLDER.serverUrl;
  const o = cfg.objectives;
  const repoState = (n: string) => state?.repositories.find((r) => r.name === n);

  const serverChecks = (): Step => ({
    title: 'Point FeatureSignals at the new instance and check it',
    commands: [{ argv: ['curl', '-fsS', `${url}/health`] }, { argv: ['curl', '-fsS', `${url}/ready`] }],
    check: `Set the server's DATABASE_URL to the new instance (port ${P}) and restart it (Redis warms itself from the database). Both requests answer 200; then evaluate a known flag through a test SDK and compare with what you expect.`,
    ifFails: '/health failing: the server is not running or cannot reach the database (its log says which). /ready failing: it is still warming or cannot reach Redis. Do not switch traffic until both are 200.',
  });
  const newPrimary = (repo: string): Step => ({
    title: `Point cluster.connection and cluster.pgdata in the config at the new instance, then back it up`,
    commands: [fsdr('config', 'check'), fsdr('backup', '--type', 'full'), fsdr('info', '--repo', repo)],
    check: `Edit ${cfg.source}: cluster.connection to the new instance (port ${P}), cluster.pgdata to ${D}; config check says valid. The backup completes, and info shows it on the new timeline with WAL archived after it.`,
    ifFails: 'Archiving not arriving: check pg_stat_archiver on the new instance (failed_count, last_failed_wal) and that archive_command there points at this config.',
  });
  const restoreStep = (repo: string, target: string[], why: string): Step => ({
    title: `Restore into a new instance (${why})`,
    commands: [fsdr('restore', '--pgdata', D, '--port', P, ...target, '--repo', repo, '--archive')],
    check: `It prints "recovered to …" with the LSN and a new timeline, and exits 0. The instance runs on port ${P} and archives into the repository on its new timeline (--archive: only the instance that becomes the primary may).`,
    ifFails: 'The error names the missing or damaged object and the point reached; nothing is left behind. Try the previous backup (--backup ID from fsdr info), or the same restore with --repo of a replica. --accept-gap (with --latest) recovers up to a hole on purpose.',
  });
  const infoStep = (repo: string, what: string): Step => ({
    title: `Read the repository ${repo}`,
    commands: [fsdr('info', '--repo', repo)],
    check: what,
    ifFails: `"cannot reach": check the storage (${repositoryLocation(cfg, repo)}) and its credentials. A key error: the master key is wrong (see "The key"). "looks like tampering": follow its hint with --as-of.`,
  });
  const verifyStep = (repo: string): Step => ({
    title: `Verify the repository ${repo}`,
    commands: [fsdr('verify', '--repo', repo)],
    check: 'It ends with "no faults" and exits 0.',
    ifFails: 'Each FAULT names an object. A fault in the newest backup: restore from an older one (--backup). Faults everywhere: restore from a replica (--repo). TAMPERING: restore with --as-of the time its hint gives.',
  });

  const windows = (n: string): string[] => {
    const s = repoState(n);
    if (!s) return [];
    if (s.error) return [`repository ${n} could not be read when this was generated: ${s.error}`];
    const out = (s.pitr ?? []).map((w) => `PITR window of ${n} on timeline ${w.timeline}: ${w.earliest} .. ${w.latest}`);
    if (!s.pitr?.length) out.push(`repository ${n} has no PITR window (no backup with WAL after it): nothing to restore yet`);
    if (s.walAgeSeconds !== undefined) out.push(`newest archived WAL in ${n} is ${Math.round(s.walAgeSeconds)} s old`);
    if (s.holes) out.push(`${s.holes} hole(s) in ${n}'s WAL archive: the window stops at the first`);
    if (s.unreadableBackups) out.push(`${s.unreadableBackups} backup(s) in ${n} cannot be read`);
    if (s.lagSeconds !== undefined) out.push(`replica ${n} lags the primary by ${Math.round(s.lagSeconds)} s`);
    return out;
  };
  const drillLines = (): string[] => (state?.drills ?? []).map((d) => d.lastId
    ? `last ${d.kind} drill ${d.lastId}: ${d.lastResult === 'ok' ? 'passed' : `FAILED${d.failure ? ` (${d.failure})` : ''}`}, ended ${d.lastEndedAt}`
    : `no ${d.kind} drill on record`);

  const standby = standbyRepository(cfg);
  const self = Object.keys(cfg.repositories).includes('customer') ? 'customer' : 'primary';
  const latest = ['--latest'];

  const corruption: Scenario = {
    id: 'database-corruption',
    title: 'Database corruption: point-in-time restore',
    objectives: `RPO ${dur(o.databaseCorruption.rpoSeconds)}, RTO ${dur(o.databaseCorruption.rtoSeconds)} (WAL shipping)`,
    atRisk: [...windows('primary'), ...drillLines()],
    steps: [
      infoStep('primary', `It names the cluster and shows a "PITR tl N" window. Pick ${PLACEHOLDER.targetTime}: the last moment before the corruption (application logs, audit log), ISO 8601 with a zone; it must lie inside the window.`),
      verifyStep('primary'),
      restoreStep('primary', ['--target-time', T], 'to the moment before the corruption'),
      serverChecks(),
      newPrimary('primary'),
    ],
    questions: [
      'Who decides the target time, and from which log do we read it?',
      'What happens to writes made between the target time and now: who tells the customers, who replays them?',
      `Where will ${PLACEHOLDER.pgdata} live, and does that disk hold the whole database?`,
    ],
  };
  // Under Patroni (ha:) an instance failure is handled automatically: the runbook checks it happened.
  const instance: Scenario = cfg.ha
    ? {
      id: 'instance-failure',
      title: `Instance failure: automatic failover (Patroni on etcd, cluster ${cfg.ha.scope})`,
      objectives: `RPO ${dur(o.instanceFailure.rpoSeconds)}, RTO ${dur(o.instanceFailure.rtoSeconds)}; Patroni's lease: ttl ${cfg.ha.ttl} s, loop_wait ${cfg.ha.loopWait} s, ${cfg.ha.synchronous ? 'synchronous (no committed transaction lost)' : `asynchronous (up to ${cfg.ha.maximumLagOnFailover} bytes lost)`}`,
      atRisk: [...windows('primary'), ...drillLines()],
      steps: [
        { title: 'Check that Patroni failed over', commands: [fsdr('ha', 'status')], check: `It names a new leader on a new timeline and no "DCS unreachable" line; within about ${cfg.ha.loopWait + 3} s of a crashed postmaster, ${cfg.ha.ttl + 3} s of a lost node.`, ifFails: 'No leader: if the first line says the DCS is unreachable, restore etcd first (no failover can happen without it); if no replica is eligible (lag above maximumLagOnFailover), restore from the repository instead (fsdr restore --latest).' },
        { title: 'Check that clients reach the new leader', commands: cfg.ha.clientConnection ? [{ argv: ['pg_isready', ...hostPort(cfg.ha.clientConnection)] }] : [], check: 'HAProxy (ha.clientConnection) accepts connections: its health check (GET /primary) now passes on the new leader only.', ifFails: 'Check HAProxy\'s stats: every server down means no node answers 200 to GET /primary.' },
        serverChecks(),
        { title: 'Check that the old leader rejoined as a replica', commands: [fsdr('ha', 'status')], check: 'The old leader is listed as replica (or sync_standby), streaming on the new timeline: Patroni rewound it (pg_rewind). It never comes back as a second primary.', ifFails: `Rebuild it from the repository: stop its Patroni, empty its data directory and start Patroni again (create_replica_methods: fsdr ha create-replica, then pg_basebackup).` },
      ],
      questions: [
        'Who is paged when Patroni fails over on its own, and who checks the old node afterwards?',
        'Is etcd spread over three failure domains, so that losing one host never stops failover?',
      ],
    }
    : {
    id: 'instance-failure',
    title: 'Instance failure: a new instance from the latest WAL',
    objectives: `RPO ${dur(o.instanceFailure.rpoSeconds)}, RTO ${dur(o.instanceFailure.rtoSeconds)}`,
    atRisk: windows('primary'),
    steps: [
      { title: 'Confirm the instance is gone', commands: [{ argv: ['pg_isready', ...hostPort(cfg.cluster?.connection)] }], check: 'It reports "no response" (or the host is gone). If the instance answers, this is not an instance failure: stop here.', ifFails: 'If it answers, investigate instead of restoring: two primaries would split the data.' },
      infoStep('primary', 'The newest "wal tl N … last at" is within the RPO of now: that is what you will get back.'),
      restoreStep('primary', latest, 'everything archived'),
      serverChecks(),
      newPrimary('primary'),
    ],
    questions: [
      'How do we make sure the old instance cannot come back and take writes?',
      'Which connection strings point at the old instance, and who changes them?',
    ],
  };
  const region: Scenario = cfg.regions
    ? regionalFailover(cfg, cfg.regions, o.regionFailure, windows)
    : standby
    ? {
      id: 'region-failure',
      title: `Region failure: restore from the standby repository (${standby})`,
      objectives: `RPO ${dur(o.regionFailure.rpoSeconds)}, RTO ${dur(o.regionFailure.rtoSeconds)} (cross-region backup); failover is a manual decision`,
      atRisk: windows(standby),
      steps: [
        infoStep(standby, `The standby repository (${repositoryLocation(cfg, standby)}) shows a PITR window; its newest WAL is what you lose up to. Decide: is the primary region unrecoverable within the RTO? Failover is manual on purpose.`),
        verifyStep(standby),
        restoreStep(standby, latest, 'everything replicated to the standby region'),
        serverChecks(),
        { title: 'Switch DNS to the standby region', commands: [], check: 'Point the service record at the standby stack (TTL 60): a DNS query answers the new address within a minute.', ifFails: 'Keep the old record; the standby stack can be tested by address until DNS works.' },
        newPrimary(standby),
      ],
      questions: [
        'Who may declare the primary region lost, and how do we keep the old primary from writing again (split brain)?',
        'Is the standby region\'s compute provisioned and its PostgreSQL the same major version?',
      ],
    }
    : {
      id: 'region-failure',
      title: 'Region failure: NO standby repository configured',
      objectives: `RPO ${dur(o.regionFailure.rpoSeconds)}, RTO ${dur(o.regionFailure.rtoSeconds)}: cannot be met`,
      atRisk: ['only repositories.primary is configured: a region failure that takes it loses everything'],
      steps: [{ title: 'Add a replica repository in another region', commands: [fsdr('config', 'check')], check: 'Add repositories.standby (another region), then fsdr init and fsdr replicate; config check lists it.', ifFails: 'Until then this scenario has no procedure.' }],
      questions: ['Which region and account will hold the standby repository, and who pays for it?'],
    };
  const selfHosted: Scenario = {
    id: 'self-hosted',
    title: `Self-hosted: complete rebuild on a new machine from the repository (${self})`,
    objectives: 'customer-defined backup schedule; customer-driven RTO',
    atRisk: windows(self),
    steps: [
      { title: 'Install fsdr and bring the config and the key', commands: [fsdr('config', 'check')], check: `The new machine has PostgreSQL of the same major version, this config at ${cfg.source} and the master key (see "The key"); config check says valid.`, ifFails: 'It names the bad key; a missing key reference is the most common cause.' },
      infoStep(self, 'It shows the cluster, the backups and the PITR window: the repository and the key alone are enough.'),
      restoreStep(self, latest, 'physical, everything archived'),
      { title: 'Or: restore the newest logical dump into an empty instance', commands: [fsdr('restore-dump', '--connection', `postgres://postgres@127.0.0.1:${P}/postgres`, '--repo', self)], check: 'It restores every database and the globals of the newest dump and exits 0 (portable across PostgreSQL major versions).', ifFails: 'Name an older dump with --dump ID (fsdr info lists them).' },
      serverChecks(),
    ],
    questions: ['Where is the written-down copy of the key reference and this runbook if the whole machine is gone?'],
  };
  return [corruption, instance, region, selfHosted];
}

/**
 * With `regions:` the region scenario is fsdr failover on the standby region's node (a warm
 * standby promoted, fenced, checked, DNS moved) and failback later; commands run on the other
 * node carry that node's config as a placeholder unless this is that node.
 */
function regionalFailover(cfg: Config, r: NonNullable<Config['regions']>, objective: { rpoSeconds: number; rtoSeconds: number }, windows: (n: string) => string[]): Scenario {
  const self = r.self ?? r.primary;
  const nodeConfig = (region: string) => (region === self ? cfg.source : `<${region} node's fsdr.yaml>`);
  const on = (region: string, ...args: string[]): Command => ({ argv: ['fsdr', '--config', nodeConfig(region), ...args] });
  const to = r.standby;
  const from = r.primary;
  return {
    id: 'region-failure',
    title: `Region failure: fail over from ${from} to the warm standby in ${to}`,
    objectives: `RPO ${dur(objective.rpoSeconds)}, RTO ${dur(objective.rtoSeconds)}; failover is a manual decision (never automatic: no split brain)`,
    atRisk: windows(self === to ? 'primary' : to),
    steps: [
      { title: `Check the standby in ${to}`, commands: [on(to, 'standby', 'status')], check: 'It is in recovery, and its lag behind the repository and the primary is within the RPO: that lag is what a failover now loses.', ifFails: 'No standby running: fsdr standby start --stack on that node (it builds one from its own repository and keeps the FeatureSignals server warm on it), or follow the restore-based procedure with fsdr restore --repo.' },
      { title: 'Read the failover plan (changes nothing)', commands: [on(to, 'failover', '--to', to)], check: 'The plan says whether the primary still answers and the newest recoverable time of the standby: the data at risk. If the primary answers, prefer --planned (zero loss).', ifFails: 'A warning that the standby is behind the RPO: decide with that figure, or wait for replication if the primary region still answers.' },
      { title: `Fail over to ${to}`, commands: [on(to, 'failover', '--to', to, '--confirm')], check: 'Each step prints ok: fence, promote, archive-history, start-server, ready, golden, integration, dns (TTL 60). A DNS query answers the new address within a minute.', ifFails: `The failing step is named and the report kept (fsdr drill show ID). The fence is written first: ${from} will not archive or back up again even if it returns. Fix the named cause and run the same command again.` },
      { title: 'Confirm who writes now', commands: [on(to, 'fence', 'status')], check: `The writer is ${to} with the new epoch; on the ${from} node the same command reports it fenced.`, ifFails: 'A fence missing from one repository is written again by the next failover or by fence enforce.' },
      { title: `Later: fail back to ${from}`, commands: [on(from, 'failback'), on(from, 'failback', '--confirm', '--switchover')], check: `${from} is brought onto ${to}'s timeline — pg_rewind when it committed nothing after the fork (wal_log_hints or checksums), else a fresh restore with its old directory moved aside, never deleted; the result says which — becomes the standby, then a planned switchover moves writes back with zero loss.`, ifFails: 'Without --switchover it stays the standby: run fsdr failover --to ' + from + ' --planned --confirm on its node when ready.' },
    ],
    questions: [
      `Who may declare ${from} lost, and who runs the failover on the ${to} node?`,
      'When did the last failover drill (fsdr drill failover) pass, and what RPO and RTO did it measure?',
    ],
  };
}
