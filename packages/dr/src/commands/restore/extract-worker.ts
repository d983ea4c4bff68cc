// Worker thread of a restore: decodes the bundles it is sent into the new data directory.
import { workerData } from 'node:worker_threads';
import type { Config } from '../../config/load.js';
import { reviveConfig } from '../../config/revive.js';
import { PackedPieces, type PackedData } from '../../repository/packed-pieces.js';
import { openObjectStore } from '../../repository/open-objects.js';
import { SMALL_FOOTPRINT } from '../../codec/object-codec.js';
import { serveTasks } from '../../util/worker-main.js';
import { enableYoungGc } from '../../util/young-gc.js';
import { extractBundle } from './write-files.js';

// Bundles stream gigabytes through buffers: collect them young (util/young-gc.ts); every 2 MiB
// (two frames of decipher output, the only buffers a restore allocates) measured lowest.
enableYoungGc(2 << 20);
const { config, repository, asOf } = workerData as { config: Config; repository?: string; asOf?: string };
const objects = await openObjectStore(reviveConfig(config), repository, { asOf: asOf ? new Date(asOf) : undefined, footprint: SMALL_FOOTPRINT });
// A bundle's pieces come packed: they become objects here, for this bundle only.
serveTasks<{ key: string; pieces: PackedData; pgdata: string }, void>((m, progress) => extractBundle(objects, m.key, [...new PackedPieces(m.pieces)], m.pgdata, progress), { collect: true });
