// A Repository: one Storage seen through the codec, with its parts (repo.json, the WAL archive;
// backups and dumps come beside them). A new machine with only the repository and the key can
// list, verify and restore everything in it.
import { Readable } from 'node:stream';
import { ObjectCodec } from '../codec/object-codec.js';
import type { Config } from '../config/load.js';
import { IntegrityError, RepositoryError } from '../errors.js';
import { openObjectStore, type RepositoryOpenOptions } from './open-objects.js';
import { ObjectNotFoundError } from '../storage/errors.js';
import { isVersioned, type Storage } from '../storage/storage.js';
import { REPO_INFO_KEY } from './layout.js';
import { ObjectStore } from './object-store.js';
import { decodeRepoInfo, encodeRepoInfo, type RepoInfo } from './repo-info.js';
import { WalArchive } from './wal-archive.js';
import { BackupCatalog } from './backup-catalog.js';
import { DumpCatalog } from './dump-catalog.js';
import { DrillCatalog } from './drill-catalog.js';
import { GoldenCatalog } from './golden-catalog.js';
import { ExpireJournal } from './expire-journal.js';
import { scanVersions, suspicious, tamperedError, type VersionScan } from './tampering.js';

export class Repository {
  readonly objects: ObjectStore;
  readonly wal: WalArchive;
  readonly backups: BackupCatalog;
  readonly dumps: DumpCatalog;
  readonly drills: DrillCatalog;
  readonly golden: GoldenCatalog;
  readonly expireJournal: ExpireJournal;
  private info?: RepoInfo;

  constructor(readonly name: string, readonly storage: Storage, private readonly masterKey: Buffer, codec: ObjectCodec) {
    this.objects = new ObjectStore(storage, codec);
    this.wal = new WalArchive(this.objects);
    this.backups = new BackupCatalog(this.objects);
    this.dumps = new DumpCatalog(this.objects);
    this.drills = new DrillCatalog(this.objects);
    this.golden = new GoldenCatalog(this.objects);
    this.expireJournal = new ExpireJournal(this.objects);
  }

  static async open(cfg: Config, name = 'primary', opts: RepositoryOpenOptions = {}): Promise<Repository> {
    const objects = await openObjectStore(cfg, name, opts);
    return new Repository(name, objects.storage, cfg.masterKey, objects.codec);
  }

  /** repo.json, authenticated; undefined when the repository has not been initialised. */
  async tryReadInfo(): Promise<RepoInfo | undefined> {
    if (this.info) return this.info;
    let body: Readable;
    try {
      body = await this.storage.get(REPO_INFO_KEY);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return undefined;
      throw err;
    }
    const parts: Buffer[] = [];
    for await (const c of body) parts.push(c as Buffer);
    this.info = decodeRepoInfo(this.masterKey, `${this.storage.description}/${REPO_INFO_KEY}`, Buffer.concat(parts));
    return this.info;
  }

  /** Versions the repository's storage keeps, judged for tampering (undefined: not versioned). */
  async scanVersions(prefix = ''): Promise<VersionScan | undefined> {
    if (!isVersioned(this.storage)) return undefined;
    return scanVersions(this.storage, () => this.expireJournal.markers(), prefix);
  }

  async readInfo(): Promise<RepoInfo> {
    let info: RepoInfo | undefined;
    try {
      info = await this.tryReadInfo();
    } catch (err) {
      // Only a repo.json that fails authentication is a sign of tampering; a store that times out
      // or refuses is not, and a version scan would only pay the same timeouts again.
      if (!(err instanceof IntegrityError)) throw err;
      throw (await this.tampered(`${REPO_INFO_KEY} fails authentication`)) ?? err;
    }
    if (!info) {
      // "Run fsdr init" would be the wrong advice when an attacker deleted repo.json.
      const t = await this.tampered(`${REPO_INFO_KEY} is missing`);
      if (t) throw t;
      throw new RepositoryError('FSDR_REPO_NOT_INITIALISED', `repository ${this.name} (${this.storage.description}) is not initialised`, {
        hint: 'run fsdr init first',
      });
    }
    return info;
  }

  /** A tampering error when the storage's versions show foreign writes (versioned storage only). */
  async tampered(problem: string): Promise<Error | undefined> {
    const scan = await this.scanVersions().catch(() => undefined);
    return scan && suspicious(scan) ? tamperedError(this.name, this.storage.description, problem, scan) : undefined;
  }

  /**
   * An object that fails authentication, or is missing, in a repository whose versions show
   * foreign writes is explained as tampering (with the time to read it --as-of); other errors pass.
   */
  async explain(err: unknown): Promise<unknown> {
    if (!(err instanceof IntegrityError || err instanceof ObjectNotFoundError)) return err;
    return (await this.tampered(err.message)) ?? err;
  }

  async writeInfo(info: RepoInfo): Promise<void> {
    await this.storage.put(REPO_INFO_KEY, Readable.from([encodeRepoInfo(this.masterKey, info)]), { ifAbsent: true });
    this.info = info;
  }

  close(): Promise<void> {
    return this.storage.close();
  }
}
