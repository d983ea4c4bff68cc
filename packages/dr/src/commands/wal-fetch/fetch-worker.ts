// Worker thread of the fetch pool: opens the repository and reads repo.json once, then fetches,
// decodes and checks each WAL file it is sent.
import { workerData } from 'node:worker_threads';
import type { Config } from '../../config/load.js';
import { reviveConfig } from '../../config/revive.js';
import { Repository } from '../../repository/repository.js';
import { serveTasks } from '../../util/worker-main.js';
import type { FetchTask } from './fetch-pool.js';
import { fetchOnThisThread, type Fetched } from './prefetch.js';

const data = workerData as { config: Config; repoName: string };
const repo = await Repository.open(reviveConfig(data.config), data.repoName);
const fetch = fetchOnThisThread(repo);
serveTasks<FetchTask, Fetched>((m) => fetch(m.name, m.dest, m.durable));
