// fsdr web console: reads the agent's JSON endpoints with the token this tab was given and draws
// them. No build step, no dependencies. Everything from the server goes in through textContent
// (never innerHTML), so nothing in a repository can run script in the page that holds the token.
'use strict';
const KEY = 'fsdr-agent-token';
const REFRESH_MS = 15000;
let timer;

function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    // CSSOM, not a style attribute: the page's CSP (style-src 'self') refuses inline styles.
    else if (k === 'style') Object.assign(el.style, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const kid of kids.flat(Infinity)) if (kid !== undefined && kid !== null && kid !== false) el.append(kid instanceof Node ? kid : String(kid));
  return el;
}
const $ = (id) => document.getElementById(id);
const fill = (id, ...nodes) => $(id).replaceChildren(...nodes);

// Times: UTC, to the second, with the exact ISO value in <time datetime>.
const utc = (iso) => (iso ? iso.replace('T', ' ').slice(0, 19) + ' UTC' : '—');
const when = (iso, field) => (iso ? h('time', { datetime: iso, 'data-field': field }, utc(iso)) : h('span', { 'data-field': field }, '—'));
function dur(s) {
  if (s === undefined || s === null) return '—';
  if (s < 120) return `${s.toFixed(0)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}
function bytes(n) {
  if (n === undefined) return '—';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}
const table = (head, rows, empty) => (rows.length ? h('table', {}, h('thead', {}, h('tr', {}, head.map((x) => h('th', {}, x)))), h('tbody', {}, rows)) : h('p', { class: 'note' }, empty));
const okCell = (ok, yes = 'ok', no = 'FAILED') => h('td', { class: ok ? 'ok' : 'bad' }, ok ? yes : no);

async function api(path) {
  const r = await fetch(path, { headers: { authorization: `Bearer ${sessionStorage.getItem(KEY)}` }, cache: 'no-store' });
  if (r.status === 401 || r.status === 403) {
    const why = (await r.json().catch(() => ({}))).error || `HTTP ${r.status}`;
    throw Object.assign(new Error(why), { auth: true });
  }
  const body = await r.json();
  if (!r.ok) throw new Error(`${path}: ${body.error || r.status}`);
  return body;
}

function showLogin(message) {
  clearTimeout(timer);
  sessionStorage.removeItem(KEY);
  $('app').hidden = true;
  $('logout').hidden = true;
  fill('who');
  // Drop whatever an earlier session drew, so nothing of it stays in the page.
  for (const id of ['alerts', 'objectives', 'pitr', 'replicas', 'backups', 'dumps', 'drills', 'drill', 'jobs']) fill(id);
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  $('token').focus();
}

function renderAlerts(a) {
  $('alerts-source').textContent = a.source === 'evaluator' ? 'the shipped alert rules as the agent evaluates them (deploy/prometheus; the rules that need history, like the storage forecast, only Prometheus evaluates)' : 'the checks the agent computes (objectives, WAL holes, jobs, drills, storage); Prometheus evaluates the full rules in deploy/prometheus';
  fill('alerts', table(['severity', 'alert', 'what', 'since'], a.alerts.map((x) => h('tr', { 'data-alert': x.name },
    h('td', { class: x.severity === 'critical' ? 'bad' : 'warn' }, x.severity), h('td', { class: 'mono' }, x.name), h('td', {}, x.summary), h('td', {}, when(x.since)))), 'Nothing firing.'));
}

function renderObjectives(e) {
  fill('objectives', table(['scenario', 'objective', 'exposure now', 'target', 'share of target', ''], (e?.objectives || []).map((o) => {
    const ratio = o.exposureSeconds === undefined ? undefined : o.exposureSeconds / o.limitSeconds;
    const meter = ratio === undefined ? '—' : h('div', { class: `meter${ratio >= 1 ? ' over' : ratio >= 0.5 ? ' risk' : ''}`, title: `${(ratio * 100).toFixed(0)} %` }, h('span', { style: { width: `${Math.min(100, ratio * 100).toFixed(1)}%` } }));
    return h('tr', { 'data-scenario': o.scenario }, h('td', {}, o.scenario.replace(/_/g, ' ')), h('td', {}, o.objective.toUpperCase()),
      h('td', { class: 'num', 'data-field': `exposure-${o.scenario}` }, dur(o.exposureSeconds)), h('td', { class: 'num' }, dur(o.limitSeconds)),
      h('td', {}, meter, ratio === undefined ? '' : ` ${(ratio * 100).toFixed(0)} %`), okCell(o.ok, 'met', o.exposureSeconds === undefined ? 'not measured' : 'MISSED'));
  }), 'Not measured yet.'));
}

// One track per timeline, on a shared time axis: archived WAL (blue), recovery window (green box),
// holes (red), backups (black ticks) and how far each replica has the WAL (purple ticks).
function renderPitr(status, p) {
  const e = status.exposure || {};
  const windows = status.recoveryWindows || [];
  const summary = h('table', {}, h('tbody', {},
    h('tr', {}, h('th', {}, 'last backup'), h('td', {}, when(e.lastBackupAt, 'last-backup'), e.backupAgeSeconds === undefined ? '' : ` (${dur(e.backupAgeSeconds)} ago)`)),
    h('tr', {}, h('th', {}, 'newest archived WAL'), h('td', {}, when(e.lastWalArchivedAt, 'last-wal'))),
    windows.length ? windows.map((w) => h('tr', { 'data-window': w.timeline }, h('th', {}, `recovery window, timeline ${w.timeline}`),
      h('td', {}, when(w.earliest, `pitr-earliest-${w.timeline}`), ' .. ', when(w.latest, `pitr-latest-${w.timeline}`), ` (${w.backups.length} backup${w.backups.length === 1 ? '' : 's'})`)))
      : h('tr', {}, h('th', {}, 'recovery window'), h('td', { class: 'bad', 'data-field': 'pitr-none' }, 'none: no backup with archived WAL'))));
  const times = [];
  for (const t of p.timelines) times.push(Date.parse(t.firstArchivedAt), Date.parse(t.lastArchivedAt));
  for (const b of p.backups) times.push(Date.parse(b.startTime), Date.parse(b.stopTime));
  times.push(Date.parse(p.checkedAt));
  const t0 = Math.min(...times);
  const span = Math.max(1, Math.max(...times) - t0);
  const x = (iso) => `${(((Date.parse(iso) - t0) / span) * 100).toFixed(2)}%`;
  const w = (a, b) => `${Math.max(0.3, ((Date.parse(b) - Date.parse(a)) / span) * 100).toFixed(2)}%`;
  const tracks = p.timelines.map((t) => {
    const node = p.tree.find((n) => n.timeline === t.timeline);
    const win = p.recoveryWindows.find((r) => r.timeline === t.timeline);
    return h('div', { 'data-timeline': t.timeline },
      h('h3', { class: 'note' }, `timeline ${t.timeline}`, node && node.parent !== undefined ? ` (forked from ${node.parent} at ${node.forkLsn})` : '', node && node.continues ? ', continues' : '',
        ` \u2014 WAL ${t.first} .. ${t.last}, ${t.segments} segments, ${bytes(t.storedBytes)} stored`, t.gaps.length ? h('span', { class: 'bad' }, `, ${t.gaps.length} hole(s)`) : ''),
      h('div', { class: 'track' },
        h('div', { class: 'wal', style: { left: x(t.firstArchivedAt), width: w(t.firstArchivedAt, t.lastArchivedAt) }, title: `WAL archived ${utc(t.firstArchivedAt)} .. ${utc(t.lastArchivedAt)}` }),
        win ? h('div', { class: 'window', style: { left: x(win.earliest), width: w(win.earliest, win.latest) }, title: `recoverable ${utc(win.earliest)} .. ${utc(win.latest)}` }) : '',
        t.gaps.map((g) => h('div', { class: 'gap', style: { left: x(g.after || t.firstArchivedAt), width: w(g.after || t.firstArchivedAt, g.before || t.lastArchivedAt) }, title: `missing ${g.from} .. ${g.to}` })),
        p.backups.filter((b) => b.timeline === t.timeline).map((b) => h('div', { class: 'backup', style: { left: x(b.stopTime) }, title: `backup ${b.id} (${b.type}) ended ${utc(b.stopTime)}` })),
        p.replicas.flatMap((r) => r.timelines.filter((rt) => rt.timeline === t.timeline).map((rt) => [
          h('div', { class: 'replica', style: { left: x(rt.archivedAt) }, title: `${r.name} holds WAL to ${rt.last}` }),
          h('span', { class: 'label', style: { left: x(rt.archivedAt) } }, r.name)]))),
      t.gaps.length ? h('ul', {}, t.gaps.map((g) => h('li', { class: 'bad mono' }, `missing ${g.from} .. ${g.to}`))) : '');
  });
  fill('pitr', summary, ...tracks, p.timelines.length ? h('p', { class: 'note' }, `${utc(new Date(t0).toISOString())} \u2192 ${utc(p.checkedAt)} \u00b7 blue: archived WAL, green: recovery window, red: hole, black: backup, purple: replica position`) : h('p', { class: 'note' }, 'No WAL archived yet.'));
}

function renderReplicas(status, p) {
  const region = (status.exposure?.objectives || []).find((o) => o.scenario === 'region_failure');
  fill('replicas', table(['replica', 'objects behind', 'lag', 'region RPO', 'holds WAL to', 'backups'], (status.exposure?.replicas || []).map((r) => {
    const pos = p.replicas.find((x) => x.name === r.name);
    return h('tr', { 'data-replica': r.name }, h('td', {}, r.name), h('td', { class: 'num' }, r.missingObjects), h('td', { class: `num ${region && r.lagSeconds >= region.limitSeconds ? 'bad' : 'ok'}`, 'data-field': `lag-${r.name}` }, dur(r.lagSeconds)),
      h('td', { class: 'num' }, region ? dur(region.limitSeconds) : '—'),
      h('td', { class: 'mono' }, pos?.error ? h('span', { class: 'bad' }, pos.error) : (pos?.timelines || []).map((t) => `tl ${t.timeline}: ${t.last}`).join(', ') || '—'), h('td', { class: 'num' }, pos ? pos.backups : '—'));
  }), 'No replica repository configured.'));
}

function renderBackups(p) {
  const rows = p.backups.slice().reverse().map((b) => h('tr', { 'data-backup': b.id }, h('td', { class: 'mono' }, b.id), h('td', {}, b.type, b.prior ? h('span', { class: 'note' }, ` on ${b.prior}`) : ''), h('td', { class: 'num' }, b.timeline),
    h('td', {}, when(b.startTime)), h('td', {}, when(b.stopTime)), h('td', { class: 'mono' }, `${b.startLsn} .. ${b.stopLsn}`), h('td', { class: 'num' }, b.files), h('td', { class: 'num' }, bytes(b.bytes)), h('td', { class: 'num' }, bytes(b.storedBytes))));
  for (const u of p.unreadableBackups) rows.unshift(h('tr', {}, h('td', { class: 'mono' }, u.id), h('td', { class: 'bad', colspan: 8 }, `UNREADABLE: ${u.problem}`)));
  fill('backups', table(['id', 'type', 'tl', 'started', 'ended', 'LSN', 'files', 'size', 'stored'], rows, 'No backup yet.'));
}

function renderDumps(p) {
  fill('dumps', table(['id', 'started', 'ended', 'pg_dump', 'databases'], p.dumps.slice().reverse().map((d) => h('tr', {}, h('td', { class: 'mono' }, d.id),
    d.problem ? h('td', { class: 'bad', colspan: 4 }, d.problem) : [h('td', {}, when(d.startTime)), h('td', {}, when(d.stopTime)), h('td', {}, d.pgDumpMajor),
      h('td', {}, d.databases.map((x) => `${x.name} ${bytes(x.size)}`).join(', '))])), 'No dump yet.'));
}

async function showDrill(id) {
  fill('drill', h('p', { class: 'note' }, `loading ${id}\u2026`));
  try {
    const d = await api(`/console/api/drills/${encodeURIComponent(id)}`);
    fill('drill', h('h3', {}, `Evidence ${d.id}`), h('p', {}, `${d.kind} on ${d.host}, fsdr ${d.fsdrVersion}, ${utc(d.startTime)} .. ${utc(d.endTime)}: `, h('strong', { class: d.result === 'ok' ? 'ok' : 'bad' }, d.result)),
      d.failure ? h('p', { class: 'bad' }, `failed at ${d.failure.step}${d.failure.object ? ` (${d.failure.object})` : ''}: ${d.failure.message}`) : '',
      table(['step', 'result', 'seconds'], d.steps.map((s) => h('tr', {}, h('td', {}, s.name), okCell(s.ok), h('td', { class: 'num' }, s.seconds.toFixed(1)))), 'No steps recorded.'),
      d.objectives ? h('pre', {}, JSON.stringify(d.objectives, null, 2)) : '', h('details', {}, h('summary', {}, 'checks'), h('pre', {}, JSON.stringify(d.checks, null, 2))));
  } catch (err) {
    if (err.auth) return showLogin(err.message);
    fill('drill', h('p', { class: 'bad' }, err.message));
  }
}

function renderDrills(list) {
  fill('drills', table(['id', 'kind', 'ended', 'result', 'RTO', 'RPO exposure', 'failure'], list.map((d) => h('tr', { class: 'clickable', 'data-drill': d.id, onclick: () => showDrill(d.id) },
    h('td', { class: 'mono' }, d.id), h('td', {}, d.kind), h('td', {}, when(d.endTime)), okCell(d.result === 'ok'), h('td', { class: 'num' }, dur(d.rtoSeconds)), h('td', { class: 'num' }, dur(d.rpoExposureSeconds)),
    h('td', {}, d.failure ? `${d.failure.step}: ${d.failure.message}` : ''))), 'No drill evidence yet (fsdr drill verify).'));
}

function renderJobs(jobs) {
  fill('jobs', table(['job', 'schedule', 'next run', 'last run', 'result', 'runs ok / failed / skipped'], (jobs || []).map((j) => h('tr', { 'data-job': j.name }, h('td', {}, j.name), h('td', { class: 'mono' }, j.schedule),
    h('td', {}, when(j.nextRun)), h('td', {}, when(j.lastRun?.finishedAt || j.lastRun?.startedAt)),
    j.running ? h('td', { class: 'warn' }, 'running') : j.lastRun?.skipped ? h('td', {}, `skipped: ${j.lastRun.skipped}`) : j.lastRun?.ok === undefined ? h('td', {}, '—') : okCell(j.lastRun.ok, 'ok', `FAILED: ${j.lastRun.error || ''}`),
    h('td', { class: 'num' }, `${j.successes} / ${j.failures} / ${j.skipped}`, j.retry ? h('span', { class: 'warn' }, ` (retry ${j.retry.attempt} at ${utc(j.retry.at)})`) : ''))), 'No jobs.'));
}

async function refresh() {
  clearTimeout(timer);
  try {
    const [status, pitr, drills, alerts] = await Promise.all([api('/status'), api('/console/api/pitr'), api('/console/api/drills'), api('/console/api/alerts')]);
    $('login').hidden = true;
    $('app').hidden = false;
    $('logout').hidden = false;
    $('stale').hidden = true;
    fill('who', `${status.owner} \u00b7 ${status.repository.location} \u00b7 measured ${utc(status.exposure?.checkedAt)}`);
    renderAlerts(alerts);
    renderObjectives(status.exposure);
    renderPitr(status, pitr);
    renderReplicas(status, pitr);
    renderBackups(pitr);
    renderDumps(pitr);
    renderDrills(drills);
    renderJobs(status.jobs);
    document.body.dataset.loaded = status.exposure?.checkedAt || 'yes';
  } catch (err) {
    if (err.auth) return showLogin(err.message);
    $('stale').hidden = false;
    $('stale').textContent = `could not refresh: ${err.message} (showing the last data)`;
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $('token').value);
    $('token').value = '';
    refresh();
  });
  $('logout').addEventListener('click', () => showLogin());
  if (sessionStorage.getItem(KEY)) refresh();
  else showLogin();
});
