// API keys as FeatureSignals makes them: fs_srv_/fs_cli_ + 48 hex, stored only as
// HMAC-SHA-256(pepper, rawKey) hex, with the first 12 characters kept as a display prefix.
import { createHmac, randomBytes } from 'node:crypto';

export type KeyType = 'server' | 'client';

export function generateApiKey(type: KeyType): string {
  return `${type === 'server' ? 'fs_srv_' : 'fs_cli_'}${randomBytes(24).toString('hex')}`;
}

export function hashApiKey(pepper: Buffer, rawKey: string): string {
  return createHmac('sha256', pepper).update(rawKey, 'utf8').digest('hex');
}

export const keyPrefix = (rawKey: string): string => rawKey.slice(0, 12);
