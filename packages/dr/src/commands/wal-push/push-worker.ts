// Worker thread of the push pool: opens the repository once, then pushes each file it is sent.
import { parentPort, workerData } from 'node:worker_threads';
import { describeError, FsdrError } from '../../errors.js';
import { loadConfigCached } from '../../config/cache.js';
import { Repository } from '../../repository/repository.js';
import { pushWalFile } from './push-wal-file.js';

const cfg = await loadConfigCached((workerData as { configPath: string }).configPath);
const repo = await Repository.open(cfg);

parentPort!.on('message', async (m: { path: string }) => {
  try {
    await pushWalFile(repo, m.path);
    parentPort!.postMessage({ ok: true });
  } catch (err) {
    parentPort!.postMessage({ ok: false, error: describeError(err), code: err instanceof FsdrError ? err.code : undefined });
  }
});
