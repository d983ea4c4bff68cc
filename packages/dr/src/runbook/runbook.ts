// The restore runbook as one document model, rendered as Markdown or as a self-contained HTML page.
// Both renderers walk the same model, so the page and the text can never say different things.
import type { Config } from '../config/load.js';
import { buildScenarios, keySource, repositoryLocation, type Command, type Fill, type RunbookState, type Scenario } from './procedures.js';

export interface Runbook {
  generatedAt: string;
  configPath: string;
  repositories: Array<{ name: string; location: string }>;
  key: string;
  state?: RunbookState;
  scenarios: Scenario[];
}

export function buildRunbook(cfg: Config, state?: RunbookState, fill: Fill = {}, now = new Date()): Runbook {
  return {
    generatedAt: now.toISOString(),
    configPath: cfg.source,
    repositories: Object.keys(cfg.repositories).map((name) => ({ name, location: repositoryLocation(cfg, name) })),
    key: keySource(cfg),
    state,
    scenarios: buildScenarios(cfg, state, fill),
  };
}

const SAFE = /^[A-Za-z0-9_\-+=.,/:@%]+$/;
const PLACEHOLDER_ARG = /<[A-Z_]+>/;

/** One argv as a shell line: plain words bare, the rest single-quoted; <PLACEHOLDERS> stay visible. */
export function shellLine(c: Command): string {
  return c.argv.map((a) => (SAFE.test(a) || (PLACEHOLDER_ARG.test(a) && !/['\s]/.test(a)) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The inverse of shellLine (bare words, single quotes, backslash escapes): what the tests run. */
export function splitShellLine(line: string): string[] {
  const out: string[] = [];
  let cur: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (/\s/.test(c)) {
      if (cur !== undefined) out.push(cur);
      cur = undefined;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      cur = (cur ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '\\') {
      cur = (cur ?? '') + line[++i];
    } else {
      cur = (cur ?? '') + c;
    }
  }
  if (cur !== undefined) out.push(cur);
  return out;
}

function stateLines(rb: Runbook): string[] {
  if (!rb.state) return ['(not read: the repositories were not reachable or --no-state was given)'];
  return [
    ...rb.state.repositories.map((r) => r.error
      ? `${r.name}: UNREACHABLE (${r.error})`
      : `${r.name}: ${r.backups ?? 0} backup(s), newest ${r.newestBackup ?? 'none'}; PITR ${(r.pitr ?? []).map((w) => `tl ${w.timeline} ${w.earliest} .. ${w.latest}`).join('; ') || 'none'}${r.walAgeSeconds !== undefined ? `; newest WAL ${Math.round(r.walAgeSeconds)} s old` : ''}${r.lagSeconds !== undefined ? `; lag ${Math.round(r.lagSeconds)} s` : ''}`),
    ...rb.state.drills.map((d) => d.lastId ? `last ${d.kind} drill: ${d.lastId} ${d.lastResult}` : `no ${d.kind} drill on record`),
  ];
}

export function renderMarkdown(rb: Runbook): string {
  const out: string[] = [
    '# FeatureSignals restore runbook',
    '',
    `Generated ${rb.generatedAt} by fsdr runbook from ${rb.configPath}. Replace <PLACEHOLDERS> (or pass them: fsdr runbook --target-time T --pgdata DIR --port N --server-url URL).`,
    '',
    '## Before you start',
    '',
    '### Repositories',
    '',
    ...rb.repositories.map((r) => `- **${r.name}**: ${r.location}`),
    '',
    '### The key',
    '',
    rb.key,
    '',
    `### State at ${rb.state?.at ?? rb.generatedAt}`,
    '',
    ...stateLines(rb).map((l) => `- ${l}`),
  ];
  rb.scenarios.forEach((s, i) => {
    if (out.at(-1) !== '') out.push('');
    out.push(`## ${i + 1}. ${s.title}`, '', `Objectives: ${s.objectives}`, '');
    if (s.atRisk.length) out.push('At risk now:', '', ...s.atRisk.map((l) => `- ${l}`), '');
    s.steps.forEach((st, j) => {
      out.push(`### ${i + 1}.${j + 1} ${st.title}`, '');
      if (st.commands.length) out.push('```sh', ...st.commands.map(shellLine), '```', '');
      out.push(`**Check:** ${st.check}`, '', `**If it fails:** ${st.ifFails}`, '');
    });
  });
  return out.join('\n').trimEnd() + '\n';
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function renderHtml(rb: Runbook): string {
  const e = escapeHtml;
  const li = (xs: string[]) => `<ul>${xs.map((x) => `<li>${e(x)}</li>`).join('')}</ul>`;
  const body: string[] = [
    '<h1>FeatureSignals restore runbook</h1>',
    `<p>Generated ${e(rb.generatedAt)} by fsdr runbook from <code>${e(rb.configPath)}</code>. Replace &lt;PLACEHOLDERS&gt;.</p>`,
    '<h2>Before you start</h2><h3>Repositories</h3>',
    `<ul>${rb.repositories.map((r) => `<li><b>${e(r.name)}</b>: ${e(r.location)}</li>`).join('')}</ul>`,
    `<h3>The key</h3><p>${e(rb.key)}</p>`,
    `<h3>State at ${e(rb.state?.at ?? rb.generatedAt)}</h3>${li(stateLines(rb))}`,
  ];
  rb.scenarios.forEach((s, i) => {
    body.push(`<h2 id="${e(s.id)}">${i + 1}. ${e(s.title)}</h2><p>Objectives: ${e(s.objectives)}</p>`);
    if (s.atRisk.length) body.push(`<p>At risk now:</p>${li(s.atRisk)}`);
    s.steps.forEach((st, j) => {
      body.push(`<h3>${i + 1}.${j + 1} ${e(st.title)}</h3>`);
      if (st.commands.length) body.push(`<pre>${st.commands.map((c) => e(shellLine(c))).join('\n')}</pre>`);
      body.push(`<p><b>Check:</b> ${e(st.check)}</p><p><b>If it fails:</b> ${e(st.ifFails)}</p>`);
    });
  });
  // Self-contained: inline style, no scripts, nothing fetched (it may be read offline during the outage).
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>FeatureSignals restore runbook</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}pre{background:#f4f4f4;padding:.75em;overflow-x:auto}h2{border-top:1px solid #ccc;padding-top:1em}</style>
</head><body>
${body.join('\n')}
</body></html>
`;
}
