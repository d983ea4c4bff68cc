// @featuresignals/server: startServer() for programs and drills, config from env, and the golden set.
export { startServer, withDefaults, type RunningServer, type StartServerConfig } from './server.js';
export { configFromEnv, type ServerConfig } from './config.js';
export { ServerError } from './errors.js';
export { hashApiKey, generateApiKey } from './api-keys.js';
export { readDbid } from './db/identity.js';
export { EXPECTED_SCHEMA_VERSION } from './db/migrations.js';
export { recordGolden, digest, rulesetSha256, valuesOnly, isRuleset, MISSING_FLAGS, type GoldenRecord, type Evaluator, type GoldenResult, type GoldenSource, type PublicEnv } from './golden/record.js';
export { compareGolden, type GoldenComparison, type GoldenDiff } from './golden/compare.js';
export { generateContexts, boundaryKeys, cutPoints, type GoldenContext } from './golden/contexts.js';
export { localEvaluator, serverEvaluator, sdkEvaluator, clientFlagsEvaluator, fetchRuleset, fetchSource } from './golden/evaluators.js';
export { recordFromServer, verifyAgainst, type GoldenTarget, type GoldenVerification } from './golden/golden.js';
export { canonicalJson } from './canonical-json.js';
export { verifyAuditChain, type AuditVerification } from './manage/audit.js';
export { applyDueSchedules, overdueSchedules, type DueSchedule } from './scheduler.js';
