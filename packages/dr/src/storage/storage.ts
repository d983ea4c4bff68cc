// The Storage interface: bytes under keys, nothing more. It knows no PostgreSQL and no codec.
// The local directory (fs/) and S3 (s3/) implement it; the Repository is built on top of it.
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
  versionId?: string;
  /** Object Lock retain-until date, when the backend reports one. */
  retainUntil?: Date;
  lockMode?: string;
}

export interface PutOptions {
  /** Fail with ObjectExistsError instead of replacing an existing object (written-once keys). */
  ifAbsent?: boolean;
  /** Object Lock retention for this object (S3 with Object Lock only). */
  retainUntil?: Date;
  /** Coordination objects (leases) that are not backup data: never put under Object Lock. */
  unlocked?: boolean;
  /** Known length of the body, when the caller has it (lets S3 use a single PUT). */
  contentLength?: number;
}

export interface StorageFeatures {
  /** put({ifAbsent}) is atomic on the backend (not only checked before writing). */
  conditionalPut: boolean;
  versioning: boolean;
  objectLock: boolean;
  /**
   * head() answers locally in microseconds (a stat), so asking before an expensive write is free;
   * on S3 it is a round trip, and the conditional PUT answers the same question.
   */
  localHead: boolean;
}

/** An object read into the caller's buffer (see Storage.reader). */
export interface ObjectReader {
  /** Fill buf[offset, offset + length) as far as it can; 0 at the end of the object. */
  read(buf: Buffer, offset: number, length: number): Promise<number>;
  close(): Promise<void>;
}

export interface Storage {
  /** 'fs' or 's3' */
  readonly kind: string;
  /** Where it points, for messages (`/srv/fsdr/repo`, `s3://bucket/prefix`). */
  readonly description: string;
  readonly features: StorageFeatures;

  /** Stream an object. Throws ObjectNotFoundError when it does not exist. */
  get(key: string): Promise<Readable>;
  /**
   * Read an object into buffers the caller reuses (no allocation per chunk, for bulk readers such
   * as restore). Optional: a backend without it is read through get(). Throws like get().
   */
  reader?(key: string): Promise<ObjectReader>;
  /**
   * Store an object whole or not at all. Durable when the promise resolves (fs: fsync'd file and
   * directory; S3: PUT acknowledged). A failed put leaves nothing visible under `key`.
   */
  put(key: string, body: Readable, opts?: PutOptions): Promise<ObjectInfo>;
  /** Metadata of an object, or undefined when it does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Remove objects; missing ones are not an error. */
  delete(keys: string[]): Promise<void>;
  /**
   * Debris a killed or failed writer left behind that list() never shows (fs: `*.fsdr-tmp` files).
   * Backends whose writes are atomic at the service (S3 PUT) have none.
   */
  leftovers?(): AsyncIterable<ObjectInfo>;
  removeLeftover?(key: string): Promise<void>;
  close(): Promise<void>;
}

/** One stored version of an object (versioned S3 buckets). */
export interface ObjectVersionInfo {
  key: string;
  versionId: string;
  isLatest: boolean;
  isDeleteMarker: boolean;
  lastModified: Date;
  /** Stored size (0 for delete markers). */
  size?: number;
}

/** A delete marker a delete created (versioned buckets), recorded so retention knows its own. */
export interface DeleteMarkerInfo {
  key: string;
  versionId: string;
}

/** Storage that keeps object versions and can purge a specific one (S3 with versioning). */
export interface VersionedStorage extends Storage {
  listVersions(prefix: string): AsyncIterable<ObjectVersionInfo>;
  /** Stream one version of an object. Throws ObjectNotFoundError when it does not exist. */
  getVersion(key: string, versionId: string): Promise<Readable>;
  /** delete(), returning the delete markers it created. */
  deleteMarking(keys: string[]): Promise<DeleteMarkerInfo[]>;
  /** Object Lock retention of one version, if any. */
  versionRetention(key: string, versionId: string): Promise<{ mode?: string; retainUntil?: Date }>;
  /** Permanently delete one version; throws StorageError FSDR_STORAGE_DENIED while it is locked. */
  deleteVersion(key: string, versionId: string): Promise<void>;
}

export function isVersioned(s: Storage): s is VersionedStorage {
  return typeof (s as Partial<VersionedStorage>).listVersions === 'function';
}
