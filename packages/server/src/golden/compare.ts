// Compares a later run with a golden record and lists every differing evaluation by
// environment, flag and context (expected vs actual), plus environments whose ruleset changed.
import type { GoldenRecord } from './record.js';

export interface GoldenDiff {
  env: string;
  flag: string;
  context: string;
  expected: string | null;
  actual: string | null;
}

export interface GoldenComparison {
  equal: boolean;
  expectedFingerprint: string;
  actualFingerprint: string;
  differences: GoldenDiff[];
  rulesetChanges: string[];
}

const idOf = (line: string): string => line.split('\t', 3).join('\t');
const rest = (line: string): string => line.split('\t').slice(3).join('\t');

export function compareGolden(expected: GoldenRecord, actual: GoldenRecord): GoldenComparison {
  const want = new Map(expected.lines.map((l) => [idOf(l), l]));
  const got = new Map(actual.lines.map((l) => [idOf(l), l]));
  const differences: GoldenDiff[] = [];
  for (const id of new Set([...want.keys(), ...got.keys()])) {
    const a = want.get(id);
    const b = got.get(id);
    if (a === b) continue;
    const [env, flag, context] = id.split('\t');
    differences.push({ env, flag, context, expected: a === undefined ? null : rest(a), actual: b === undefined ? null : rest(b) });
  }
  differences.sort((x, y) => (x.env + x.flag + x.context < y.env + y.flag + y.context ? -1 : 1));
  // A side recorded without GET /v1/ruleset ('' digest) says nothing about the ruleset.
  const known = (e: string) => expected.envs[e].rulesetSha256 !== '' && (actual.envs[e]?.rulesetSha256 ?? '') !== '';
  const rulesetChanges = Object.keys(expected.envs).filter((e) => known(e) && expected.envs[e].rulesetSha256 !== actual.envs[e]?.rulesetSha256);
  return { equal: expected.fingerprint === actual.fingerprint && differences.length === 0, expectedFingerprint: expected.fingerprint,
    actualFingerprint: actual.fingerprint, differences, rulesetChanges };
}
