// Worker thread of a restore: decodes the bundles it is sent into the new data directory.
import { workerData } from 'node:worker_threads';
import type { Config } from '../../config/load.js';
import { reviveConfig } from '../../config/revive.js';
import type { ManifestFile } from '../../repository/manifest.js';
import { openObjectStore } from '../../repository/open-objects.js';
import { serveTasks } from '../../util/worker-main.js';
import { enableYoungGc } from '../../util/young-gc.js';
import { extractBundle } from './write-files.js';

// Bundles stream gigabytes through buffers: collect them young (util/young-gc.ts); every 2 MiB
// (two frames of decipher output, the only buffers a restore allocates) measured lowest.
enableYoungGc(2 << 20);
const { config, repository, asOf } = workerData as { config: Config; repository?: string; asOf?: string };
const objects = await openObjectStore(reviveConfig(config), repository, { asOf: asOf ? new Date(asOf) : undefined });
serveTasks<{ key: string; entries: ManifestFile[]; pgdata: string }, void>((m, progress) => extractBundle(objects, m.key, m.entries, m.pgdata, progress), { collect: true });
