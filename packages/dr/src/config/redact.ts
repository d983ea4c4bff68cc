// The effective configuration as `fsdr config check` prints it: defaults filled in, secrets
// shown only as their reference, the resolved key only as its fingerprint.
import type { Config } from './load.js';
import { keyId } from '../keys/master-key.js';
import { redactUrl } from '../postgres/cluster.js';

export function redactedConfig(cfg: Config): Record<string, unknown> {
  const { masterKey, source, ...rest } = cfg;
  return {
    ...rest,
    ...(cfg.cluster ? { cluster: { ...cfg.cluster, connection: redactUrl(cfg.cluster.connection) } } : {}),
    encryption: { ...cfg.encryption, keyId: keyId(masterKey) },
  };
}
