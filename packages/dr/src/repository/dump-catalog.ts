// Logical dumps (pg_dump custom format) in the repository: one object per database plus the
// globals, and the manifest written last, as for physical backups.
import { Readable } from 'node:stream';
import { IntegrityError } from '../errors.js';
import type { ObjectStore } from './object-store.js';

export const DUMP_PREFIX = 'dumps/';

export interface DumpManifest {
  format: number;
  id: string;
  systemIdentifier: string;
  serverVersionNum: number;
  serverMajor: number;
  pgDumpMajor: number;
  startTime: string;
  stopTime: string;
  globals: { key: string; size: number; sha256: string };
  databases: Array<{ name: string; key: string; size: number; storedSize: number; sha256: string }>;
}

export function dumpObjectKey(id: string, name: string): string {
  return `${DUMP_PREFIX}${id}/${name}`;
}

export function dumpManifestKey(id: string): string {
  return `${DUMP_PREFIX}${id}/manifest.json`;
}

export class DumpCatalog {
  constructor(private readonly objects: ObjectStore) {}

  async ids(): Promise<string[]> {
    const ids: string[] = [];
    for await (const o of this.objects.storage.list(DUMP_PREFIX)) {
      const m = /^dumps\/([^/]+)\/manifest\.json$/.exec(o.key);
      if (m) ids.push(m[1]!);
    }
    return ids.sort();
  }

  async read(id: string): Promise<DumpManifest> {
    const key = dumpManifestKey(id);
    const m = JSON.parse((await this.objects.getBuffer(key)).toString('utf8')) as DumpManifest;
    if (m.id !== id) throw new IntegrityError(key, `names dump ${m.id} (moved or replaced)`);
    return m;
  }

  async write(m: DumpManifest): Promise<void> {
    await this.objects.put(dumpManifestKey(m.id), Readable.from([Buffer.from(JSON.stringify(m))]));
  }
}
