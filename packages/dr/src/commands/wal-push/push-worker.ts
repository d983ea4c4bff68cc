// Worker thread of the push pool: opens the repository once, then pushes each file it is sent.
import { workerData } from 'node:worker_threads';
import type { Config } from '../../config/load.js';
import { reviveConfig } from '../../config/revive.js';
import { Repository } from '../../repository/repository.js';
import { serveTasks } from '../../util/worker-main.js';
import { enableYoungGc } from '../../util/young-gc.js';
import { pushDescribed, type PushedWal } from './push-described.js';

enableYoungGc(); // segments stream through buffers: collect them young (util/young-gc.ts)
const repo = await Repository.open(reviveConfig((workerData as { config: Config }).config));
serveTasks<{ path: string }, PushedWal>((m) => pushDescribed(repo, m.path));
