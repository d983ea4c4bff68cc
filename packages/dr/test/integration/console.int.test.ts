// The web console in headless Chromium (Debian's, driven by playwright-core) against a real agent
// on a real PostgreSQL and repository: without the token the page is a login prompt and the data
// endpoints answer 401; with it the page shows the PITR window and last backup /status reports
// (and `fsdr info` agrees), the backup, the replica's lag and position, and the drill evidence;
// a row committed and not archived pushes the RPO exposure past 80 % of a 10 s objective, and once
// the agent's alert evaluator fires FsdrRpoAtRisk (its `for` is a minute) the page lists the alert
// /status reports. Screenshots are kept in test-artifacts/console.png and console-alerts.png
// (repository root; override FSDR_TEST_ARTIFACTS).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort, startPostgres, waitUntil, type PostgresHandle } from '@featuresignals/testkit';
import { archiveCommand, FSDR_BIN, fsdrOk, giveToPostgres, makeWorkspace, type Workspace } from '../helpers/fsdr.js';
import { switchWal, waitArchived } from '../helpers/pg-load.js';

const TOKEN = 'console-test-token-7c41';
const RPO_SECONDS = 10;
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = process.env.FSDR_TEST_ARTIFACTS ?? fileURLToPath(new URL('../../../../../test-artifacts/', import.meta.url));
let ws: Workspace;
let pg: PostgresHandle;
let agent: ChildProcess;
let browser: Browser;
let url: string;
let cfg: string;

const get = (path: string, token?: string) => fetch(`${url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
// What the page prints for a time: the test's own rendering of the ISO value, to compare with the text.
const utc = (iso: string) => `${iso.replace('T', ' ').slice(0, 19)} UTC`;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/setup-tests.sh (Debian package chromium)`);
  ws = makeWorkspace();
  const standby = join(ws.dir, 'standby');
  mkdirSync(standby);
  giveToPostgres(standby);
  const port = await freePort();
  const doc = (cluster?: object) => ({
    ...(cluster ? { cluster } : {}),
    repositories: { primary: { type: 'fs', path: ws.repoDir }, standby: { type: 'fs', path: standby } },
    encryption: { masterKey: `file:${ws.keyFile}` },
    schedule: { backup: 'off', dump: 'off', expire: 'off', verify: 'off', replicate: 'off', drillVerify: 'off', drillTabletop: 'off', drillRestore: 'off' },
    agent: { listen: `127.0.0.1:${port}`, token: 'env:FSDR_AGENT_TOKEN', monitorIntervalSeconds: 2 },
    objectives: { databaseCorruption: { rpoSeconds: RPO_SECONDS, rtoSeconds: 1800 } },
  });
  cfg = ws.writeConfig(doc());
  pg = await startPostgres({ settings: { wal_level: 'replica', archive_mode: 'on', archive_command: archiveCommand(cfg) } });
  ws.writeConfig(doc({ connection: pg.connectionString, pgdata: pg.pgdata }));
  await fsdrOk(['--config', cfg, 'init']);
  await waitArchived(pg, await switchWal(pg));
  await fsdrOk(['--config', cfg, 'backup']);
  await fsdrOk(['--config', cfg, 'replicate']);
  await fsdrOk(['--config', cfg, 'drill', 'tabletop', '--participants', 'ana,bo']);
  // WAL the replica has not got yet: it lags, and its position sits before the newest segment.
  await waitArchived(pg, await switchWal(pg));
  agent = spawn(process.execPath, [FSDR_BIN, '--config', cfg, 'agent'], { env: { ...process.env, FSDR_AGENT_TOKEN: TOKEN }, stdio: ['ignore', 'ignore', 'inherit'] });
  url = `http://127.0.0.1:${port}`;
  await waitUntil(async () => ((await fetch(`${url}/health`).catch(() => undefined))?.ok ? true : undefined), 30_000, 'the agent');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  if (agent && agent.exitCode === null) {
    agent.kill('SIGTERM');
    await new Promise((r) => agent.once('exit', r));
  }
  await pg?.stop();
  ws?.cleanup();
});

// Every console error the page logs (a CSP refusal, a script error) fails the test that opened it.
const pageErrors: string[] = [];

async function openConsole(): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.on('console', (m) => m.type() === 'error' && !/status of 401/.test(m.text()) && pageErrors.push(m.text()));
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${url}/console/`);
  return page;
}

test('without the token: a login prompt and nothing else; the data endpoints answer 401', async () => {
  for (const path of ['/status', '/console/api/pitr', '/console/api/drills', '/console/api/alerts', '/console/api/drills/x']) {
    assert.equal((await get(path)).status, 401, path);
    assert.equal((await get(path, 'wrong-token')).status, 401, path);
  }
  const shell = await get('/console/');
  assert.equal(shell.status, 200);
  assert.match(shell.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  const page = await openConsole();
  await page.locator('#login').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#app').isVisible(), false);
  await page.fill('#token', 'wrong-token');
  await page.click('#login-form button');
  await page.locator('#login-error').filter({ hasText: 'wrong bearer token' }).waitFor();
  assert.equal(await page.locator('#app').isVisible(), false);
  const info = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json']));
  const text = await page.locator('body').innerText();
  assert.ok(!text.includes(info.backups[0].id), 'no backup id on the page without the token');
  assert.doesNotMatch(text, /timeline|recovery window/i);
  await page.context().close();
});

test('with the token: the page shows the PITR window and last backup /status reports, the replica, the drill evidence', async () => {
  // /status carries the recovery windows once the monitor has read the repository.
  const status = await waitUntil(async () => {
    const s = (await (await get('/status', TOKEN)).json()) as any;
    return s.recoveryWindows?.length && s.exposure?.lastBackupAt ? s : undefined;
  }, 60_000, 'recovery windows in /status');
  const info = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json']));
  const backup = info.backups.at(-1);
  assert.equal(status.exposure.lastBackupAt, backup.stopTime, '/status and fsdr info agree on the last backup');
  assert.deepEqual(status.recoveryWindows.map((w: any) => [w.timeline, w.earliest, w.latest]), info.recoveryWindows.map((w: any) => [w.timeline, w.earliest, w.latest]));

  const page = await openConsole();
  await page.fill('#token', TOKEN);
  await page.click('#login-form button');
  await page.waitForSelector('body[data-loaded]');
  assert.ok(!page.url().includes(TOKEN), 'the token is not in the URL');
  assert.equal(await page.locator('#login').isVisible(), false);

  const field = (name: string) => page.locator(`[data-field="${name}"]`);
  assert.equal(await field('last-backup').innerText(), utc(backup.stopTime));
  assert.equal(await field('last-backup').getAttribute('datetime'), status.exposure.lastBackupAt);
  const w = status.recoveryWindows[0];
  assert.equal(await field(`pitr-earliest-${w.timeline}`).innerText(), utc(w.earliest));
  assert.equal(await field(`pitr-latest-${w.timeline}`).innerText(), utc(w.latest));
  assert.equal(await field(`pitr-latest-${w.timeline}`).getAttribute('datetime'), w.latest);
  assert.equal(await page.locator(`[data-timeline="${w.timeline}"] .backup`).count(), info.backups.filter((b: any) => b.timeline === w.timeline).length);

  await page.locator(`tr[data-backup="${backup.id}"]`).waitFor();
  const corruption = status.exposure.objectives.find((o: any) => o.scenario === 'database_corruption');
  assert.ok(corruption, 'the corruption objective is measured');
  assert.equal(await page.locator('tr[data-scenario]').count(), status.exposure.objectives.length);

  // The replica lags (the WAL switched after replicate) and holds WAL up to a segment before the newest.
  const lag = status.exposure.replicas.find((r: any) => r.name === 'standby');
  assert.ok(lag.missingObjects > 0, 'the standby lacks the newest WAL');
  const replicaRow = await page.locator('tr[data-replica="standby"]').innerText();
  assert.match(replicaRow, new RegExp(`\\b${lag.missingObjects}\\b`));
  const last = info.wal.timelines.at(-1).last;
  const held = /tl \d+: ([0-9A-F]{24})/.exec(replicaRow)?.[1];
  assert.ok(held && held < last, `the standby's position (${held}) is before the newest segment ${last}`);
  assert.equal(await page.locator(`[data-timeline="${w.timeline}"] .replica`).count(), 1, 'the standby is marked on the timeline');
  assert.equal(await page.locator(`[data-timeline="${w.timeline}"] .track`).innerText(), 'standby', 'the track holds marks, not stringified objects');
  // Drawn where the times say: the window starts at the backup's end, after the first WAL.
  const track = (await page.locator(`[data-timeline="${w.timeline}"] .track`).boundingBox())!;
  const box = (await page.locator(`[data-timeline="${w.timeline}"] .window`).boundingBox())!;
  const tick = (await page.locator(`[data-timeline="${w.timeline}"] .backup`).last().boundingBox())!;
  assert.ok(box.width > 0 && box.x > track.x, `the recovery window is drawn inside the track (${JSON.stringify({ track, box })})`);
  assert.ok(Math.abs(tick.x - box.x) < 4, 'the newest backup tick sits at the start of the window');

  const drills = JSON.parse(await fsdrOk(['--config', cfg, 'drill', 'list', '--json']));
  assert.equal(drills.length, 1);
  await page.click(`tr[data-drill="${drills[0].id}"]`);
  await page.locator('#drill h3').filter({ hasText: drills[0].id }).waitFor();
  const evidence = await page.locator('#drill').innerText();
  assert.match(evidence, /tabletop/);
  assert.match(evidence, new RegExp(drills[0].result));

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'console.png'), fullPage: true });

  // The token lives in this tab only: a reload keeps the session, a new one starts at the login.
  await page.reload();
  await page.waitForSelector('body[data-loaded]');
  const fresh = await openConsole();
  await fresh.locator('#login').waitFor({ state: 'visible' });
  await fresh.context().close();
  await page.click('#logout');
  await page.locator('#login').waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  assert.equal(await page.locator('tr[data-backup]').count(), 0, 'logging out removes the data from the page');
  await page.context().close();
  assert.deepEqual(pageErrors, [], 'the page logged no error (CSP refusals included)');
});

test('a firing alert: the agent\'s evaluator raises it and the page shows what /status reports', async () => {
  // A committed row in the segment being written: nothing switches it out, so it stays unarchived.
  await pg.query('CREATE TABLE IF NOT EXISTS console_orders (id serial primary key)');
  await pg.query('INSERT INTO console_orders DEFAULT VALUES');
  type Alert = { labels: Record<string, string>; annotations: { summary: string }; startsAt: string };
  const alert = await waitUntil(async () => {
    const s = (await (await get('/status', TOKEN)).json()) as { alerts: Alert[] };
    return s.alerts.find((a) => a.labels.alertname === 'FsdrRpoAtRisk' && a.labels.scenario === 'database_corruption');
  }, 240_000, 'FsdrRpoAtRisk firing in /status (for: 1 min)');
  assert.equal(alert.labels.severity, 'critical');
  const api = (await (await get('/console/api/alerts', TOKEN)).json()) as { source: string };
  assert.equal(api.source, 'evaluator', 'the console reads the agent\'s alert evaluator');

  const page = await openConsole();
  await page.fill('#token', TOKEN);
  await page.click('#login-form button');
  await page.waitForSelector('body[data-loaded]');
  const row = page.locator('tr[data-alert="FsdrRpoAtRisk"]');
  await row.waitFor();
  assert.equal(await row.count(), 1, 'one scenario at risk, one row');
  const cells = await row.locator('td').allInnerTexts();
  assert.equal(cells[0], 'critical');
  assert.equal(cells[1], 'FsdrRpoAtRisk');
  // The summary carries the share of the objective, which grows between two reads: compare up to it.
  const head = alert.annotations.summary.replace(/ at \d+ % of the objective$/, '');
  assert.ok(cells[2]!.startsWith(`${head} at `) && / % of the objective$/.test(cells[2]!), `${cells[2]} vs ${alert.annotations.summary}`);
  assert.equal(await row.locator('time').getAttribute('datetime'), alert.startsAt, 'since: when the condition began to hold');
  assert.equal(cells[3], utc(alert.startsAt));
  assert.match(await page.locator('#alerts-source').innerText(), /alert rules as the agent evaluates them/);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'console-alerts.png'), fullPage: true });
  await page.context().close();
  assert.deepEqual(pageErrors, [], 'the page logged no error');
});
