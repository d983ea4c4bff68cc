// Measured recovery against the objectives of a scenario: met only when a measurement exists and
// is within its limit. A value that could not be measured is said to be unavailable (met null),
// never claimed as met.
export interface ObjectiveJudgement {
  measuredSeconds?: number;
  limitSeconds: number;
  /** null: not measured, so neither met nor not met */
  met: boolean | null;
  unavailable?: string;
}

export interface ObjectivesReport {
  scenario: 'database_corruption' | 'region_failure' | 'instance_failure';
  rto: ObjectiveJudgement;
  /** measuredSeconds: by the drill writer's commit log; exposureSeconds: the archive's age (verify) */
  rpo: ObjectiveJudgement & { exposureSeconds?: number; atLeastSeconds?: number };
}

export function judgeObjectives(
  scenario: ObjectivesReport['scenario'],
  limits: { rtoSeconds: number; rpoSeconds: number },
  measured: { rtoSeconds?: number; rpoSeconds?: number; rpoAtLeastSeconds?: number; rpoExposureSeconds?: number },
  why: { rto?: string; rpo?: string } = {},
): ObjectivesReport {
  const known = (v?: number): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  const rto: ObjectiveJudgement = known(measured.rtoSeconds)
    ? { measuredSeconds: measured.rtoSeconds, limitSeconds: limits.rtoSeconds, met: measured.rtoSeconds <= limits.rtoSeconds }
    : { limitSeconds: limits.rtoSeconds, met: null, unavailable: why.rto ?? 'not measured (the drill did not reach the point RTO ends at)' };
  const exposure = known(measured.rpoExposureSeconds) ? { exposureSeconds: measured.rpoExposureSeconds } : {};
  // A measured RPO (the writer's last acknowledged commit to the recovered point) decides; else
  // the archive's exposure; a lower bound beyond the limit is NOT MET, within it says nothing.
  const rpo: ObjectivesReport['rpo'] = known(measured.rpoSeconds)
    ? { measuredSeconds: measured.rpoSeconds, ...exposure, limitSeconds: limits.rpoSeconds, met: measured.rpoSeconds <= limits.rpoSeconds }
    : known(measured.rpoAtLeastSeconds) && measured.rpoAtLeastSeconds > limits.rpoSeconds
      ? { atLeastSeconds: measured.rpoAtLeastSeconds, ...exposure, limitSeconds: limits.rpoSeconds, met: false }
      : known(measured.rpoExposureSeconds)
        ? { exposureSeconds: measured.rpoExposureSeconds, limitSeconds: limits.rpoSeconds, met: measured.rpoExposureSeconds <= limits.rpoSeconds }
        : { limitSeconds: limits.rpoSeconds, met: null, unavailable: why.rpo ?? 'not measured' };
  return { scenario, rto, rpo };
}

const dur = (s: number): string => (s >= 3600 && s % 3600 === 0 ? `${s / 3600} h` : s >= 60 && s % 60 === 0 ? `${s / 60} min` : `${s} s`);
const verdict = (met: boolean | null) => (met === true ? 'met' : met === false ? 'NOT MET' : 'unavailable');

/** "RTO 42.1 s < 30 min: met", "RPO unavailable (why) / 5 min: unavailable" */
export function formatObjectives(o: ObjectivesReport): string[] {
  const line = (name: string, v: number | undefined, limit: number, met: boolean | null, unavailable?: string) =>
    v === undefined
      ? `${name} limit ${dur(limit)}: unavailable (${unavailable ?? 'not measured'})`
      : `${name} ${v.toFixed(1)} s ${met ? '<=' : '>'} ${dur(limit)}: ${verdict(met)}`;
  return [
    `objectives (${o.scenario}):`,
    `  ${line('RTO', o.rto.measuredSeconds, o.rto.limitSeconds, o.rto.met, o.rto.unavailable)}`,
    `  ${line(o.rpo.measuredSeconds === undefined && o.rpo.exposureSeconds !== undefined ? 'RPO exposure' : o.rpo.atLeastSeconds !== undefined ? 'RPO at least' : 'RPO', o.rpo.measuredSeconds ?? o.rpo.exposureSeconds ?? o.rpo.atLeastSeconds, o.rpo.limitSeconds, o.rpo.met, o.rpo.unavailable)}`,
  ];
}
