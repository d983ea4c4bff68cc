// fsdr drill tabletop: the plan's monthly tabletop exercise, prepared from the live config and
// state: each scenario with the exact commands (the runbook's, from runbook/procedures.ts), what
// is at risk now, and questions for the team. It is recorded as drill evidence (kind tabletop)
// with who took part; the agent prepares one monthly with nobody listed, which the evidence says:
// prepared is not held.
import { hostname } from 'node:os';
import type { Config } from '../../config/load.js';
import { describeError, FsdrError } from '../../errors.js';
import { DrillSteps } from '../../drills/steps.js';
import { newDrillId, type DrillEvidence } from '../../repository/drill-catalog.js';
import { Repository } from '../../repository/repository.js';
import { buildScenarios, type RunbookState, type Scenario } from '../../runbook/procedures.js';
import { shellLine } from '../../runbook/runbook.js';
import { fsdrVersion } from '../../util/version.js';
import { readState } from '../runbook/state.js';

export interface TabletopScenario {
  id: Scenario['id'];
  title: string;
  objectives: string;
  atRisk: string[];
  commands: string[];
  questions: string[];
}

export interface TabletopOptions {
  participants?: string[];
  repository?: string;
}

/** Questions the state raises, beside each scenario's standing ones. */
function stateQuestions(state: RunbookState): string[] {
  const q: string[] = [];
  for (const r of state.repositories) {
    if (r.error) q.push(`Repository ${r.name} could not be read (${r.error}): what would we restore from if we needed it now?`);
    else if (r.holes) q.push(`Repository ${r.name} has ${r.holes} hole(s) in its WAL archive: which restores can no longer reach their target?`);
  }
  for (const d of state.drills) {
    if (d.kind === 'tabletop') continue;
    if (!d.lastId) q.push(`No ${d.kind} drill is on record: when do we run one (fsdr drill ${d.kind})?`);
    else if (d.lastResult !== 'ok') q.push(`The last ${d.kind} drill (${d.lastId}) failed${d.failure ? ` at ${d.failure}` : ''}: who owns the fix?`);
  }
  return q;
}

export async function runTabletop(cfg: Config, opts: TabletopOptions = {}): Promise<DrillEvidence> {
  const start = new Date();
  const participants = (opts.participants ?? []).map((p) => p.trim()).filter(Boolean);
  const repoName = opts.repository ?? 'primary';
  const steps = new DrillSteps();
  const checks: Record<string, unknown> = { held: participants.length > 0 };
  let state: RunbookState | undefined;
  await steps.run('state', async () => {
    state = await readState(cfg, start);
    const unreachable = state.repositories.filter((r) => r.error).map((r) => r.name);
    checks.state = state;
    // An unreachable repository is what a tabletop must talk about, not a reason to skip it.
    return { ok: true, detail: { repositories: state.repositories.length, unreachable } };
  });
  await steps.run('scenarios', async () => {
    const scenarios: TabletopScenario[] = buildScenarios(cfg, state).map((s) => ({
      id: s.id, title: s.title, objectives: s.objectives, atRisk: s.atRisk,
      commands: s.steps.flatMap((st) => st.commands.map(shellLine)), questions: s.questions,
    }));
    checks.scenarios = scenarios;
    checks.questions = state ? stateQuestions(state) : [];
    return { ok: true, detail: { scenarios: scenarios.map((s) => s.id) } };
  });
  const evidence: DrillEvidence = {
    format: 1, kind: 'tabletop', id: newDrillId('tabletop', start), startTime: start.toISOString(), endTime: new Date().toISOString(),
    host: hostname(), repository: repoName, fsdrVersion: fsdrVersion(), participants, steps: steps.steps, checks,
    result: steps.failure ? 'failed' : 'ok', ...(steps.failure ? { failure: steps.failure } : {}),
  };
  const repo = await Repository.open(cfg, repoName);
  try {
    // Evidence belongs in a repository bound to the cluster, never in a directory that merely exists.
    await repo.readInfo();
    await repo.drills.write(evidence);
  } catch (err) {
    throw new FsdrError('FSDR_DRILL_EVIDENCE', `tabletop ${evidence.id} could not be recorded: ${describeError(err)}`, { hint: 'fix the repository and run it again' });
  } finally {
    await repo.close();
  }
  return evidence;
}

export function formatTabletop(e: DrillEvidence, markdown: boolean): string {
  const scenarios = (e.checks.scenarios ?? []) as TabletopScenario[];
  const questions = (e.checks.questions ?? []) as string[];
  const who = e.participants?.length ? e.participants.join(', ') : 'nobody yet (prepared, not held)';
  if (!markdown) {
    return [
      `tabletop ${e.id} recorded in repository ${e.repository}; participants: ${who}`,
      ...scenarios.map((s) => `  ${s.title} (${s.objectives}): ${s.commands.length} commands, ${s.atRisk.length} at-risk line(s), ${s.questions.length} question(s)`),
      ...questions.map((q) => `  ? ${q}`),
      '  the full agenda: fsdr drill tabletop --format md; the runbook: fsdr runbook',
    ].join('\n');
  }
  const out = [`# Tabletop exercise ${e.id}`, '', `Prepared ${e.startTime} on ${e.host}. Participants: ${who}.`, ''];
  if (questions.length) out.push('## Questions from the current state', '', ...questions.map((q) => `- ${q}`), '');
  scenarios.forEach((s, i) => {
    out.push(`## ${i + 1}. ${s.title}`, '', `Objectives: ${s.objectives}`, '');
    if (s.atRisk.length) out.push('At risk now:', '', ...s.atRisk.map((l) => `- ${l}`), '');
    if (s.commands.length) out.push('Commands, in order:', '', '```sh', ...s.commands, '```', '');
    out.push('Questions for the team:', '', ...s.questions.map((q) => `- ${q}`), '');
  });
  out.push(`Recorded as drill evidence ${e.id} (fsdr drill show ${e.id}).`);
  return out.join('\n');
}
