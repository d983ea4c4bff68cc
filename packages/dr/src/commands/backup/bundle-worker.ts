// Worker thread of a backup: writes the bundles it is sent (read, hash, compress, encrypt, store).
import { workerData } from 'node:worker_threads';
import type { Config } from '../../config/load.js';
import { reviveConfig } from '../../config/revive.js';
import { openObjectStore } from '../../repository/open-objects.js';
import { SMALL_FOOTPRINT } from '../../codec/object-codec.js';
import { serveTasks } from '../../util/worker-main.js';
import { enableYoungGc } from '../../util/young-gc.js';
import { PackedPieces } from '../../repository/packed-pieces.js';
import { writeBundle, type FilePiece } from './bundle-writer.js';
import type { BundleResult } from './backup.js';
import type { TaskPiece } from './plan.js';

// Bundles stream gigabytes through buffers: collect them young (util/young-gc.ts), every 2 MiB
// (two frames of ciphertext; measured lower than 4 MiB).
enableYoungGc(2 << 20);
const { config, repository } = workerData as { config: Config; repository?: string };
const objects = await openObjectStore(reviveConfig(config), repository, { footprint: SMALL_FOOTPRINT });
// The pieces written go back packed (an incremental's task lists a piece per run of blocks).
// The prior pieces a task compares against come packed too; they become objects here.
const unpack = (p: TaskPiece): FilePiece => ({ ...p, prior: p.prior ? [...new PackedPieces(p.prior)] : undefined });
serveTasks<{ backupId: string; index: number; files: TaskPiece[] }, BundleResult>(async (m, progress) => {
  const r = await writeBundle(objects, m.backupId, m.index, m.files.map(unpack), progress);
  const packed = new PackedPieces();
  for (const f of r.files) packed.push(f);
  return { bundle: r.bundle, files: packed.data(), unusableMaps: r.unusableMaps };
}, { collect: true });
