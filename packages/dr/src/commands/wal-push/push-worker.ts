// Worker thread of the push pool: opens the repository once, then pushes each file it is sent.
import { workerData } from 'node:worker_threads';
import { loadConfigCached } from '../../config/cache.js';
import { Repository } from '../../repository/repository.js';
import { serveTasks } from '../../util/worker-main.js';
import { pushWalFile } from './push-wal-file.js';

const repo = await Repository.open(await loadConfigCached((workerData as { configPath: string }).configPath));
serveTasks<{ path: string }, string>((m) => pushWalFile(repo, m.path));
