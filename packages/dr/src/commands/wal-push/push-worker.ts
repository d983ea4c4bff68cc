// Worker thread of the push pool: opens the repository once, then pushes each file it is sent.
import { workerData } from 'node:worker_threads';
import { reviveConfig, type Config } from '../../config/load.js';
import { Repository } from '../../repository/repository.js';
import { serveTasks } from '../../util/worker-main.js';
import { pushWalFile } from './push-wal-file.js';

const repo = await Repository.open(reviveConfig((workerData as { config: Config }).config));
serveTasks<{ path: string }, string>((m) => pushWalFile(repo, m.path));
