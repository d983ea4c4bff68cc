// fsdr wal-fetch %f %p: PostgreSQL's restore_command. A missing file is normal (PostgreSQL probes
// for history files and for the end of the archive), so it exits 1 without a word.
import { resolve } from 'node:path';
import type { Config } from '../../config/load.js';
import { FsdrError } from '../../errors.js';
import { parseWalName } from '../../postgres/wal-name.js';
import { Repository } from '../../repository/repository.js';
import { ObjectNotFoundError } from '../../storage/errors.js';

/** Returns false when the file is not in the repository. */
export async function walFetch(cfg: Config, name: string, dest: string, repoName = 'primary'): Promise<boolean> {
  const w = parseWalName(name);
  if (!w) throw new FsdrError('FSDR_WAL_NAME', `${name} is not a WAL file name`, { hint: "restore_command must pass %f %p: restore_command = 'fsdr wal-fetch %f %p'" });
  const repo = await Repository.open(cfg, repoName);
  try {
    await repo.readInfo();
    await repo.wal.fetch(w, resolve(dest));
    return true;
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return false;
    throw err;
  } finally {
    await repo.close();
  }
}
