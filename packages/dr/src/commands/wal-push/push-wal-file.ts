// One unit of work: push one WAL file into one repository, after checking that the file comes from
// the cluster the repository belongs to. Knows nothing of flags, spools or PostgreSQL's retries.
import { basename } from 'node:path';
import { FsdrError, RepositoryError } from '../../errors.js';
import { readWalSegmentHeader } from '../../postgres/wal-header.js';
import { parseWalName } from '../../postgres/wal-name.js';
import type { Repository } from '../../repository/repository.js';
import type { PushOutcome, StoredWal } from '../../repository/wal-archive.js';

export async function pushWalFile(repo: Repository, path: string, stored?: (s: StoredWal) => void): Promise<PushOutcome> {
  const name = basename(path);
  const w = parseWalName(name);
  if (!w) {
    throw new FsdrError('FSDR_WAL_NAME', `${name} is not a WAL file name`, { hint: "archive_command must pass %p: archive_command = 'fsdr wal-push %p'" });
  }
  const info = await repo.readInfo();
  if (w.kind === 'segment' || w.kind === 'partial') {
    const h = await readWalSegmentHeader(path);
    if (h && h.systemIdentifier !== info.systemIdentifier) {
      // A segment of another cluster in this archive would make every restore from it wrong.
      throw new RepositoryError('FSDR_WRONG_CLUSTER', `WAL segment ${name} was written by cluster ${h.systemIdentifier}, but repository ${repo.name} belongs to cluster ${info.systemIdentifier}`, {
        hint: 'point this cluster at its own repository (fsdr init on a new path or prefix)',
      });
    }
  }
  return repo.wal.push(w, path, stored);
}
