// The backups of a repository. What exists is learned by listing: a backup is complete exactly
// when its manifest exists (no catalog file is ever updated in place). Each backup also has a
// summary (the manifest without its files, and the manifest's SHA-256), written just before the
// manifest: listings read summaries, and the manifest read afterwards must be the one summarised.
// Backups written before summaries existed are listed from their manifests.
import { createHash } from 'node:crypto';
import { IntegrityError } from '../errors.js';
import { ObjectNotFoundError } from '../storage/errors.js';
import { BACKUP_PREFIX, backupManifestKey, backupSummaryKey, parseBackupManifestKey } from './layout.js';
import type { BackupManifest, BackupSummary, ManifestFile } from './manifest.js';
import type { ObjectStore } from './object-store.js';
import type { ChunkSource } from '../codec/object-codec.js';
import { StringDecoder } from 'node:string_decoder';
import { mapLimit } from '../util/map-limit.js';
import { ManifestScanner, ManifestSyntaxError } from './manifest-scanner.js';
import { BadPieceError, PackedPieces } from './packed-pieces.js';

/** Where a manifest's pieces go as it is read (PackedPieces is one). */
export interface PieceSink {
  push(f: ManifestFile): void;
}

/** A manifest read for a restore or an incremental: its fields, and its pieces packed. */
export interface PackedManifest {
  manifest: Omit<BackupManifest, 'files'>;
  files: PackedPieces;
  sha256: string;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function parse<T extends { id: string }>(key: string, id: string, text: string): T {
  let v: T;
  try {
    v = JSON.parse(text);
  } catch {
    throw new IntegrityError(key, 'is not valid JSON');
  }
  if (v.id !== id) throw new IntegrityError(key, `names backup ${v.id} (moved or replaced)`);
  return v;
}

/**
 * A manifest's JSON in pieces of about 64 KiB: its fields, then its files one by one (`files`, from
 * packed pieces, say: the manifest is never one object or one string). Deterministic. Each piece
 * is a view of one reused buffer, valid until the next is asked for (hashing and the encoder copy
 * it at once): a new Buffer per piece was megabytes of native garbage for a large manifest.
 */
export function* manifestJson(m: Omit<BackupManifest, 'files'>, files: Iterable<ManifestFile>): Generator<Buffer> {
  let scratch = Buffer.allocUnsafe(128 * 1024);
  let at = 0;
  // Each piece's JSON goes straight into the buffer: a string grown piece by piece lived long
  // enough to reach V8's old space, megabytes of it for a manifest of 80,000 pieces.
  const put = (text: string) => {
    const need = at + Buffer.byteLength(text);
    if (need > scratch.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, scratch.length * 2));
      scratch.copy(grown, 0, 0, at);
      scratch = grown;
    }
    at += scratch.write(text, at);
  };
  const head = JSON.stringify(m);
  put(`${head.slice(0, -1)}${head.length > 2 ? ',' : ''}"files":[`);
  let first = true;
  for (const f of files) {
    put((first ? '' : ',') + JSON.stringify(f));
    first = false;
    if (at >= 65536) {
      yield scratch.subarray(0, at);
      at = 0;
    }
  }
  put(']}');
  yield scratch.subarray(0, at);
}

/** The pull encoder's source over buffers made one at a time. */
function chunkSource(chunks: Iterator<Buffer>): ChunkSource {
  let cur: Buffer = Buffer.alloc(0);
  let at = 0;
  return {
    read: async (buf) => {
      let n = 0;
      while (n < buf.length) {
        if (at === cur.length) {
          const next = chunks.next();
          if (next.done) break;
          cur = next.value;
          at = 0;
        }
        const k = cur.copy(buf, n, at);
        at += k;
        n += k;
      }
      return n;
    },
  };
}

function summarise(m: Omit<BackupManifest, 'files'> & { files?: unknown }, manifestSha256?: string): BackupSummary {
  const { files: _files, ...summary } = m;
  return manifestSha256 ? { ...summary, manifestSha256 } : summary;
}

export class BackupCatalog {
  constructor(private readonly objects: ObjectStore) {}

  /** Ids of complete backups, oldest first. */
  async ids(): Promise<string[]> {
    const ids: string[] = [];
    for await (const o of this.objects.storage.list(BACKUP_PREFIX)) {
      const id = parseBackupManifestKey(o.key);
      if (id) ids.push(id);
    }
    return ids.sort();
  }

  /** A manifest; `versionId` reads an earlier version (one hidden by a delete marker). */
  async read(id: string, versionId?: string): Promise<BackupManifest> {
    return (await this.readWithDigest(id, versionId)).manifest;
  }

  /** A manifest and the SHA-256 of its stored JSON (what a summary names). */
  async readWithDigest(id: string, versionId?: string): Promise<{ manifest: BackupManifest; sha256: string }> {
    const key = backupManifestKey(id);
    if (versionId) {
      const bytes = await this.objects.getVersionBuffer(key, versionId);
      return { manifest: parse<BackupManifest>(key, id, bytes.toString('utf8')), sha256: sha256(bytes) };
    }
    const { text, sha256: digest } = await this.objects.getText(key);
    return { manifest: parse<BackupManifest>(key, id, text), sha256: digest };
  }

  /**
   * A manifest with its pieces packed (packed-pieces.ts), read as it is decoded: neither its text
   * nor an object per piece is ever held. The pieces are usable only once this resolves (the
   * object's authentication is checked at its end). `spillDir`: the records are kept in a file
   * there, not in memory (PackedPieces; close() the pieces).
   */
  async readPacked(id: string, opts: { spillDir?: string } = {}): Promise<PackedManifest> {
    const files = new PackedPieces(undefined, { spillDir: opts.spillDir });
    return { ...(await this.readPieces(id, files)), files };
  }

  /**
   * A manifest read as it is decoded, each of its pieces handed to `sink` (packed pieces, or a
   * restore's per-bundle spool): the fields and the SHA-256 of its JSON are returned. What the
   * sink got is usable only once this resolves (the object's authentication is checked at its end).
   */
  async readPieces(id: string, sink: PieceSink): Promise<{ manifest: Omit<BackupManifest, 'files'>; sha256: string }> {
    const key = backupManifestKey(id);
    const scanner = new ManifestScanner((f) => sink.push(f as ManifestFile));
    const decoder = new StringDecoder('utf8');
    const hash = createHash('sha256');
    let rest: BackupManifest;
    try {
      await this.objects.readInto(key, async (plain) => {
        hash.update(plain);
        scanner.write(decoder.write(plain));
      });
      scanner.write(decoder.end());
      rest = scanner.end<BackupManifest>();
    } catch (err) {
      if (err instanceof ManifestSyntaxError || err instanceof BadPieceError) throw new IntegrityError(key, `is not a valid manifest: ${err.message}`);
      throw err;
    }
    if (rest.id !== id) throw new IntegrityError(key, `names backup ${rest.id} (moved or replaced)`);
    const { files: _none, ...manifest } = rest;
    return { manifest, sha256: hash.digest('hex') };
  }

  /**
   * The manifest of a backup chosen from a listing, packed: it must be the manifest that summary
   * describes (a summary listed, then a different manifest read, would restore another backup).
   */
  async readListed<S extends PieceSink>(s: BackupSummary, sink: S): Promise<{ manifest: Omit<BackupManifest, 'files'>; files: S }> {
    const m = await this.readPieces(s.id, sink);
    if (s.manifestSha256 && s.manifestSha256 !== m.sha256) {
      throw new IntegrityError(backupManifestKey(s.id), `does not match its summary (${backupSummaryKey(s.id)} names another manifest: replaced or rolled back)`);
    }
    return { manifest: m.manifest, files: sink };
  }

  /** The summary object of a backup; undefined for a backup written before summaries existed. */
  async readSummary(id: string): Promise<BackupSummary | undefined> {
    const key = backupSummaryKey(id);
    let text: string;
    try {
      ({ text } = await this.objects.getText(key));
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return undefined;
      throw err;
    }
    const s = parse<BackupSummary>(key, id, text);
    if (!s.manifestSha256) throw new IntegrityError(key, 'names no manifest digest');
    return s;
  }

  /** verify: a backup's summary, when it has one, names the manifest read (its SHA-256). */
  async checkSummary(id: string, manifestSha256: string): Promise<void> {
    const s = await this.readSummary(id);
    if (s && s.manifestSha256 !== manifestSha256) throw new IntegrityError(backupSummaryKey(id), `names another manifest than ${backupManifestKey(id)} (one of them replaced or rolled back)`);
  }

  /** Every complete backup's manifest, oldest first. */
  async list(): Promise<BackupManifest[]> {
    const out: BackupManifest[] = [];
    for (const id of await this.ids()) out.push(await this.read(id));
    return out;
  }

  /**
   * Every backup that can be read, and the ones that cannot (with why): one damaged manifest
   * must not stop a restore from another backup, but must never be skipped silently either.
   * Retention keeps using list(), which fails on any: deleting on a partial view is unsafe.
   * Summaries only (readListed(s) has the files): memory stays one manifest's, however many backups.
   * A summary that is damaged is only a lost shortcut: the manifest is read instead (verify reports it).
   */
  async listReadable(): Promise<{ manifests: BackupSummary[]; unreadable: Array<{ id: string; error: Error }> }> {
    const manifests: BackupSummary[] = [];
    const unreadable: Array<{ id: string; error: Error }> = [];
    const ids = await this.ids();
    // Summaries are small: read several at once (a restore waits for this listing). A damaged
    // one is only a lost shortcut; the manifests behind those are read one at a time below.
    const summaries = await mapLimit(ids, 8, (id) => this.readSummary(id).catch((err: unknown) => {
      if (err instanceof IntegrityError) return undefined;
      throw err;
    }));
    for (const [k, id] of ids.entries()) {
      try {
        manifests.push(summaries[k] ?? summarise(await this.read(id)));
      } catch (err) {
        // Damage is reported per manifest; an unreachable store or a wrong key fails the whole listing.
        if (!(err instanceof IntegrityError)) throw err;
        unreadable.push({ id, error: err });
      }
    }
    return { manifests, unreadable };
  }

  /**
   * The summary, then the manifest: the manifest stays the last object, the mark of a complete
   * backup. The manifest's JSON is made twice, piece by piece from `files()` (once for the digest
   * the summary names, once to store): never one string of it, which for an incremental of 40,000
   * runs was 12 MB of text and as much again in bytes on the main thread.
   */
  async write(m: Omit<BackupManifest, 'files'>, files: () => Iterable<ManifestFile>): Promise<void> {
    const hash = createHash('sha256');
    for (const chunk of manifestJson(m, files())) hash.update(chunk);
    await this.objects.putBuffer(backupSummaryKey(m.id), Buffer.from(JSON.stringify(summarise(m, hash.digest('hex')))));
    await this.objects.putFrom(backupManifestKey(m.id), chunkSource(manifestJson(m, files())));
  }
}
