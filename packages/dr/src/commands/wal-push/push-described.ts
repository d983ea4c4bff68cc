// Push one WAL file and say which file it was: its identity (status-record.ts) before it was read
// and after it was stored, and the digest the repository holds. Equal identities mean the bytes
// stored are the bytes that file still has, so a status record may vouch for it.
import type { Repository } from '../../repository/repository.js';
import type { StoredWal } from '../../repository/wal-archive.js';
import { pushWalFile } from './push-wal-file.js';
import { fileIdentity } from './status-record.js';

export interface PushedWal {
  before: string;
  after: string;
  stored?: StoredWal;
}

export async function pushDescribed(repo: Repository, path: string): Promise<PushedWal> {
  const before = await fileIdentity(path);
  let stored: StoredWal | undefined;
  await pushWalFile(repo, path, (s) => (stored = s));
  return { before, after: await fileIdentity(path), stored };
}
