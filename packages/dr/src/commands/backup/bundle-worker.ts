// Worker thread of a backup: writes the bundles it is sent (read, hash, compress, encrypt, store).
import { workerData } from 'node:worker_threads';
import type { Config } from '../../config/load.js';
import { reviveConfig } from '../../config/revive.js';
import { openObjectStore } from '../../repository/open-objects.js';
import { serveTasks } from '../../util/worker-main.js';
import { enableYoungGc } from '../../util/young-gc.js';
import { writeBundle, type FilePiece } from './bundle-writer.js';

// Bundles stream gigabytes through buffers: collect them young (util/young-gc.ts), every 2 MiB
// (two frames of ciphertext; measured lower than 4 MiB).
enableYoungGc(2 << 20);
const { config, repository } = workerData as { config: Config; repository?: string };
const objects = await openObjectStore(reviveConfig(config), repository);
serveTasks<{ backupId: string; index: number; files: FilePiece[] }, Awaited<ReturnType<typeof writeBundle>>>((m, progress) =>
  writeBundle(objects, m.backupId, m.index, m.files, progress),
{ collect: true });
