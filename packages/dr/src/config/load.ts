// Loads fsdr.yaml: find the file, parse YAML, validate against the schema (each issue named by its
// key path), then resolve secrets. Commands receive the resolved, typed config and never parse.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { configSchema, type FileConfig } from './schema.js';
import { resolveSecret } from './secret-ref.js';
import { parseMasterKey } from '../keys/master-key.js';
import { deriveRegions } from './regions.js';

export interface Config extends FileConfig {
  /** Where the config came from, for messages. */
  source: string;
  /** The 32-byte master key, resolved from its reference. Never print it. */
  masterKey: Buffer;
}

export { reviveConfig } from './revive.js';

export function configPath(explicit?: string): string {
  const p = explicit ?? process.env.FSDR_CONFIG;
  if (!p) {
    throw new ConfigError('', 'no configuration file given', { hint: 'pass --config FILE or set FSDR_CONFIG' });
  }
  return resolve(p);
}

export function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (path ? `${path}.${k}` : k));
    return `${keys.join(', ')}: unknown key${keys.length > 1 ? 's' : ''}`;
  }
  if (issue.code === 'invalid_union' && 'discriminator' in issue) {
    // zod 4 already ends the path with the discriminator key.
    const at = issue.path.at(-1) === 'type' ? path : `${path}.type`;
    return `${at}: expected ${issue.path[0] === 'dns' ? '"rfc2136" or "route53"' : '"fs" or "s3"'}`;
  }
  // A bad record key (stack.keys.Prod): say what a key must look like, not "Invalid key in record".
  if (issue.code === 'invalid_key' && issue.issues[0]) return `${path}: ${issue.issues[0].message}`;
  const msg = issue.message.replace(/^Invalid input: /, '');
  return `${path || '(root)'}: ${msg}`;
}

/** Validate a parsed document; throws a ConfigError naming the first bad key. */
export function validateConfig(doc: unknown): FileConfig {
  const r = configSchema.safeParse(doc ?? {});
  if (!r.success) {
    // Every issue, on one line: a typo (`encryptoin`) and the key it leaves missing (`encryption`)
    // are one mistake, and hiding the second behind "(and 1 more)" hides the explanation.
    const all = [...new Set(r.error.issues.map(formatIssue))];
    const shown = all.slice(0, 6).join('; ') + (all.length > 6 ? `; and ${all.length - 6} more` : '');
    throw new ConfigError('', shown, { hint: 'see the configuration reference in README.md' });
  }
  return deriveRegions(r.data);
}

/**
 * Read, parse and validate the file, without resolving its secrets: `fsdr check` reports a bad
 * file and an unresolvable key as two findings, so it needs the steps apart.
 */
export function readConfigFile(explicit?: string): { file: FileConfig; source: string } {
  const source = configPath(explicit);
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (err) {
    throw new ConfigError('', `cannot read configuration file ${source} (${(err as NodeJS.ErrnoException).code})`, {
      hint: 'check --config / FSDR_CONFIG',
    });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError('', `${source} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return { file: validateConfig(doc), source };
}

/** The validated file with its master key resolved (key-file permissions enforced by secret-ref). */
export function resolveConfig(file: FileConfig, source: string): Config {
  const masterKey = parseMasterKey('encryption.masterKey', resolveSecret('encryption.masterKey', file.encryption.masterKey));
  return { ...file, source, masterKey };
}

export function loadConfig(explicit?: string): Config {
  const { file, source } = readConfigFile(explicit);
  return resolveConfig(file, source);
}
