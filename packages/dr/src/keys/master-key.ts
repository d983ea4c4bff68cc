// The master key: 32 bytes given as hex or base64. It only ever wraps per-object data keys
// (envelope encryption); the repository stores its fingerprint, never the key.
import { createHash, createHmac } from 'node:crypto';
import { ConfigError } from '../errors.js';

export function parseMasterKey(path: string, text: string): Buffer {
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(text)) key = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9+/_-]{42,44}={0,2}$/.test(text)) key = Buffer.from(text, 'base64');
  if (!key || key.length !== 32) {
    throw new ConfigError(path, 'expected 32 random bytes as 64 hex characters or base64', {
      hint: 'generate one with: openssl rand -hex 32',
    });
  }
  return key;
}

/** A short, non-secret fingerprint that names a master key in messages and in repo.json. */
export function keyId(masterKey: Buffer): string {
  return createHash('sha256').update('fsdr-key-id\0').update(masterKey).digest('hex').slice(0, 16);
}

/** A sub-key for a named purpose (HMAC of repository metadata), so the master key is used for one job only. */
export function deriveKey(masterKey: Buffer, purpose: string): Buffer {
  return createHmac('sha256', masterKey).update(`fsdr:${purpose}`).digest();
}
