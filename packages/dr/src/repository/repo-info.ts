// repo.json: written once by `fsdr init`, never rewritten. It names the cluster the repository
// belongs to and the key it is encrypted with, and carries an HMAC (keyed from the master key)
// so a tampered or swapped repo.json is detected rather than trusted.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { IntegrityError, RepositoryError, WrongKeyError } from '../errors.js';
import { deriveKey, keyId } from '../keys/master-key.js';

export const REPO_FORMAT = 1;

export interface RepoInfo {
  format: number;
  systemIdentifier: string;
  pgVersion: number;
  pgVersionNum: number;
  walSegmentSize: number;
  cipher: 'aes-256-gcm';
  keyId: string;
  createdAt: string;
}

function mac(masterKey: Buffer, info: RepoInfo): string {
  const canonical = JSON.stringify(info, Object.keys(info).sort());
  return createHmac('sha256', deriveKey(masterKey, 'repo-info')).update(canonical).digest('hex');
}

export function encodeRepoInfo(masterKey: Buffer, info: RepoInfo): Buffer {
  return Buffer.from(JSON.stringify({ ...info, hmac: mac(masterKey, info) }, null, 2) + '\n');
}

export function decodeRepoInfo(masterKey: Buffer, key: string, bytes: Buffer): RepoInfo {
  let doc: RepoInfo & { hmac?: string };
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new IntegrityError(key, 'is not valid JSON');
  }
  if (doc.format !== REPO_FORMAT) {
    throw new RepositoryError('FSDR_REPO_FORMAT', `repository format ${doc.format} is not supported by this fsdr (format ${REPO_FORMAT})`, {
      hint: 'use the fsdr version that wrote the repository',
    });
  }
  const { hmac, ...info } = doc;
  const mine = keyId(masterKey);
  if (info.keyId !== mine) throw new WrongKeyError('the repository', info.keyId, mine);
  const want = Buffer.from(mac(masterKey, info), 'hex');
  const got = Buffer.from(String(hmac ?? ''), 'hex');
  if (got.length !== want.length || !timingSafeEqual(got, want)) {
    throw new IntegrityError(key, 'fails authentication (edited or replaced)');
  }
  return info;
}
