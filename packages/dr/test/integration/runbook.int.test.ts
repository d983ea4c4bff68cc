// The runbook is not fiction: on a real archiving PostgreSQL 15 with rows, a "corruption" after a
// target time T, `fsdr runbook --target-time T --pgdata … --port …` is generated through the CLI,
// and the database-corruption scenario's commands are executed in order, as printed, through the
// real CLI (the one manual edit its step asks for included). The restored instance holds exactly
// the rows of the source at T, and the new primary is backed up on its new timeline. Then the
// monthly tabletop records its evidence with participants, listed by drill list.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PostgresHandle } from '@featuresignals/testkit';
import { freePort } from '@featuresignals/testkit';
import { archivingCluster } from '../helpers/cluster.js';
import { fsdrOk, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import { switchWal, waitArchived } from '../helpers/pg-load.js';
import { CONTENT_SQL, queryPort, stopRestored } from '../helpers/restored.js';
import { splitShellLine } from '../../src/runbook/runbook.js';

let ws: Workspace;
let pg: PostgresHandle;
let cfg: string;
let restoredDir: string | undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  ws = makeWorkspace();
  ({ pg, cfg } = await archivingCluster(ws, { backup: { processes: 2, bundleSizeMiB: 4 } }));
  await pg.query('CREATE TABLE status (id serial PRIMARY KEY, marker text NOT NULL)');
  await pg.query("INSERT INTO status (marker) SELECT 'before-backup-' || g FROM generate_series(1, 200) g");
  await fsdrOk(['--config', cfg, 'backup']);
});

after(async () => {
  if (restoredDir) await stopRestored(restoredDir);
  await pg?.stop();
  ws?.cleanup();
});

/** The steps of one scenario of the markdown runbook: title and the command lines, in order. */
function scenarioSteps(md: string, n: number): Array<{ title: string; lines: string[] }> {
  const section = md.split('\n## ').find((s) => s.startsWith(`${n}. `))!;
  return section.split(`\n### ${n}.`).slice(1).map((s) => ({
    title: s.split('\n')[0]!,
    lines: [...s.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.trim().split('\n')),
  }));
}

test('the runbook\'s database-corruption commands, executed in order, recover exactly the rows at the target time', async () => {
  await pg.query("INSERT INTO status (marker) SELECT 'after-backup-' || g FROM generate_series(1, 70) g");
  await sleep(1100);
  const T = (await pg.query<{ t: Date }>('SELECT now() AS t')).rows[0]!.t.toISOString();
  const atT = (await pg.query<{ n: number; sum: string }>(CONTENT_SQL)).rows[0]!;
  assert.equal(atT.n, 270);
  await sleep(1100);
  // The corruption the restore has to go back before.
  await pg.query("UPDATE status SET marker = 'garbage' WHERE id % 3 = 0");
  await pg.query('DELETE FROM status WHERE id % 7 = 0');
  await waitArchived(pg, await switchWal(pg));

  restoredDir = join(ws.dir, 'restored');
  const port = await freePort();
  const md = await fsdrOk(['--config', cfg, 'runbook', '--target-time', T, '--pgdata', restoredDir, '--port', String(port), '--server-url', 'http://127.0.0.1:1']);
  assert.match(md, /PITR window of primary on timeline 1: /, 'the state was read');
  const steps = scenarioSteps(md, 1);
  assert.deepEqual(steps.map((s) => s.title.replace(/^\d+ /, '')), [
    'Read the repository primary', 'Verify the repository primary', 'Restore into a new instance (to the moment before the corruption)',
    'Point FeatureSignals at the new instance and check it', 'Point cluster.connection and cluster.pgdata in the config at the new instance, then back it up',
  ]);

  const ran: string[] = [];
  const skipped: string[] = [];
  for (const step of steps) {
    if (step.title.includes('Point cluster.connection and cluster.pgdata in the config at the new instance')) {
      // The step's own instruction: point the config's cluster at the new instance.
      ws.writeConfig({
        cluster: { connection: `postgres://postgres@127.0.0.1:${port}/postgres`, pgdata: restoredDir },
        repositories: { primary: { type: 'fs', path: ws.repoDir } },
        encryption: { masterKey: `file:${ws.keyFile}` },
        backup: { processes: 2, bundleSizeMiB: 4 },
      });
    }
    for (const line of step.lines) {
      const argv = splitShellLine(line);
      // curl /health and /ready need the FeatureSignals server, which this test does not start.
      if (argv[0] === 'curl') {
        skipped.push(line);
        continue;
      }
      assert.equal(argv[0], 'fsdr', line);
      const r = await runFsdr(argv.slice(1));
      assert.equal(r.code, 0, `${line}\n${r.stderr}`);
      ran.push(argv.slice(3, 5).join(' '));
    }
  }
  assert.deepEqual(ran, ['info --repo', 'verify --repo', 'restore --pgdata', 'config check', 'backup --type', 'info --repo']);
  assert.deepEqual(skipped.map((l) => l.split('/').pop()), ['health', 'ready']);

  assert.deepEqual((await queryPort<{ n: number; sum: string }>(port, CONTENT_SQL))[0], atT, 'exactly the rows at T');
  const info = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json']));
  assert.equal(info.backups.at(-1).timeline, 2, 'the new primary is backed up on its new timeline');
  assert.ok(info.wal.historyFiles.includes('00000002.history'), 'and archives into the repository');
});

test('drill tabletop records evidence with its participants, listed by drill list; the agenda has the runbook\'s commands', async () => {
  const e = JSON.parse(await fsdrOk(['--config', cfg, 'drill', 'tabletop', '--participants', 'ana, bo', '--json']));
  assert.equal(e.kind, 'tabletop');
  assert.equal(e.result, 'ok');
  assert.deepEqual(e.participants, ['ana', 'bo']);
  assert.equal(e.checks.held, true);
  assert.deepEqual(e.checks.scenarios.map((s: { id: string }) => s.id), ['database-corruption', 'instance-failure', 'region-failure', 'self-hosted']);
  const corruption = e.checks.scenarios[0];
  assert.ok(corruption.commands.some((c: string) => c.includes(' restore --pgdata <NEW_PGDATA> --port <PORT> --target-time <TARGET_TIME> --repo primary --archive')));
  assert.ok(corruption.atRisk.some((l: string) => /^PITR window of primary on timeline \d+: /.test(l)));
  assert.ok(corruption.atRisk.some((l: string) => /newest archived WAL in primary is \d+ s old/.test(l)));
  assert.ok(e.checks.state.repositories[0].backups >= 1);
  assert.ok(e.checks.questions.some((q: string) => q.includes('No verify drill is on record')));

  const prepared = JSON.parse(await fsdrOk(['--config', cfg, 'drill', 'tabletop', '--json']));
  assert.deepEqual(prepared.participants, []);
  assert.equal(prepared.checks.held, false);

  const list = JSON.parse(await fsdrOk(['--config', cfg, 'drill', 'list', '--json']));
  // Two runs within one second order by their random id part: compare as a set.
  const byId = (a: unknown[], b: unknown[]) => String(a[0]).localeCompare(String(b[0]));
  assert.deepEqual(list.map((d: { id: string; kind: string; participants?: string[] }) => [d.id, d.kind, d.participants]).sort(byId), [[e.id, 'tabletop', ['ana', 'bo']], [prepared.id, 'tabletop', []]].sort(byId));
  assert.match(await fsdrOk(['--config', cfg, 'drill', 'list']), /tabletop .* participants ana,bo/);
  assert.match(await fsdrOk(['--config', cfg, 'drill', 'show', e.id]), /participants: ana, bo/);
  const agenda = await fsdrOk(['--config', cfg, 'drill', 'tabletop', '--format', 'md', '--participants', 'ana']);
  assert.match(agenda, /## 1\. Database corruption: point-in-time restore/);
  assert.match(agenda, /Questions for the team:/);
  const r = await runFsdr(['--config', cfg, 'drill', 'tabletop', '--format', 'pdf']);
  assert.equal(r.code, 2);
});

test('runbook --format html --out: a config path with < is escaped; an unreachable repository is named, the runbook still comes out', async () => {
  const odd = ws.writeConfig({
    repositories: { primary: { type: 'fs', path: ws.repoDir }, standby: { type: 'fs', path: join(ws.dir, 'no-such-repo') } },
    encryption: { masterKey: `file:${ws.keyFile}` },
  }, 'fs<dr>.yaml');
  const out = join(ws.dir, 'runbook.html');
  await fsdrOk(['--config', odd, 'runbook', '--format', 'html', '--out', out]);
  const html = readFileSync(out, 'utf8');
  assert.ok(html.startsWith('<!doctype html>'));
  assert.ok(!html.includes('fs<dr>'));
  assert.ok(html.includes(`--config &#39;${ws.dir}/fs&lt;dr&gt;.yaml&#39; restore --pgdata &lt;NEW_PGDATA&gt;`), 'quoted for the shell, then escaped');
  assert.match(html, /standby: UNREACHABLE \(/);
  assert.match(html, /3\. Region failure: restore from the standby repository \(standby\)/);
  // Tabletop evidence goes only into an initialised repository.
  const r = await runFsdr(['--config', odd, 'drill', 'tabletop', '--repo', 'standby']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /could not be recorded: .*not initialised/);
});
