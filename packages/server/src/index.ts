// @featuresignals/server: startServer() for programs and drills, config from env, and the golden set.
export { startServer, withDefaults, type RunningServer, type StartServerConfig } from './server.js';
export { configFromEnv, type ServerConfig } from './config.js';
export { ServerError } from './errors.js';
export { hashApiKey, generateApiKey } from './api-keys.js';
export { readDbid } from './db/identity.js';
export { EXPECTED_SCHEMA_VERSION } from './db/migrations.js';
