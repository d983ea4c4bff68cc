// A repository in an S3-compatible bucket (AWS SDK v3). Path-style endpoints for MinIO/moto-like
// stores, multipart upload for large objects (lib-storage), bounded timeouts and retries with
// backoff on every request, and Object Lock retention set on every PUT when the repository asks.
import {
  DeleteObjectCommand, DeleteObjectsCommand, GetBucketVersioningCommand, ListObjectVersionsCommand, GetObjectCommand, GetObjectLockConfigurationCommand,
  HeadObjectCommand, ListObjectsV2Command, PutObjectRetentionCommand, S3Client, type ObjectLockMode,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { PassThrough, type Readable } from 'node:stream';
import { FsdrError, StorageError } from '../../errors.js';
import type { S3RepositoryConfig } from '../../config/schema.js';
import { ObjectExistsError, ObjectNotFoundError, unreachable } from '../errors.js';
import type { DeleteMarkerInfo, ObjectInfo, ObjectVersionInfo, PutOptions, StorageFeatures, VersionedStorage } from '../storage.js';

// The SDK warns on every start under Node 20 (its future minimum); under archive_command that is a
// multi-line warning per WAL segment in the PostgreSQL log. Node 20 is supported by this SDK version.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchVersion']);
/** S3's answers for credentials it does not accept (as opposed to a policy that denies). */
const BAD_CREDENTIALS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired']);
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', 'TimeoutError']);

function isTimeout(err: unknown): boolean {
  const e = err as { name?: string; message?: string };
  return e.name === 'TimeoutError' && /node-http-handler/.test(String(e.message));
}

export interface BucketProtection {
  versioning: boolean;
  objectLock: boolean;
}

export class S3Storage implements VersionedStorage {
  readonly kind = 's3';
  readonly description: string;
  readonly features: StorageFeatures;
  readonly client: S3Client;
  private readonly prefix: string;

  /** `name`: the repository's key under `repositories`, for hints that name the setting to change. */
  constructor(private readonly cfg: S3RepositoryConfig, private readonly name = 'primary') {
    this.prefix = cfg.prefix.replace(/^\/+|\/+$/g, '');
    this.description = `s3://${cfg.bucket}${this.prefix ? '/' + this.prefix : ''}`;
    this.features = { conditionalPut: true, versioning: true, objectLock: !!cfg.objectLock, localHead: false };
    this.client = new S3Client({
      region: cfg.region,
      endpoint: cfg.endpoint,
      forcePathStyle: cfg.forcePathStyle,
      maxAttempts: cfg.attempts,
      // socketTimeout is the handler's idle timeout (no byte either way), so streaming a large
      // object is never cut off. Its `requestTimeout` is not used: it only logs a warning unless
      // throwOnRequestTimeout is set, and then it would bound a whole part upload by wall clock.
      requestHandler: new NodeHttpHandler({
        connectionTimeout: cfg.timeouts.connectSeconds * 1000,
        socketTimeout: cfg.timeouts.idleSeconds * 1000,
      }),
    });
  }

  private get endpoint(): string {
    return this.cfg.endpoint ?? `https://s3.${this.cfg.region}.amazonaws.com`;
  }

  /** A request that ran out of time, as one line that says which limit and where to raise it. */
  private timedOut(op: string, key: string, err: unknown): StorageError {
    const msg = String((err as Error).message);
    const connect = /did not establish a connection/.test(msg);
    const setting = connect ? 'connectSeconds' : 'idleSeconds';
    const secs = this.cfg.timeouts[setting];
    // The SDK counts attempts of a request; a body that stalls after the response began has none.
    const attempts = (err as { $metadata?: { attempts?: number } }).$metadata?.attempts;
    const what = connect ? `could not connect within ${secs}s` : `sent nothing for ${secs}s`;
    const tries = attempts ? ` (${attempts} attempt${attempts === 1 ? '' : 's'})` : '';
    return new StorageError(`${op} ${key} in ${this.description}: S3 endpoint ${this.endpoint} ${what}${tries}`, {
      code: 'FSDR_STORAGE_TIMEOUT',
      hint: `check the endpoint; if the store is only slow, raise repositories.${this.name}.timeouts.${setting} or .attempts`,
      cause: err,
    });
  }

  /** The full object key in the bucket. */
  objectKey(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private fail(op: string, key: string, err: unknown): never {
    // Errors of our own making (a body stream that failed its integrity check) pass through.
    if (err instanceof FsdrError) throw err;
    const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
    const name = e.name ?? '';
    if (name === 'NoSuchBucket') {
      throw new StorageError(`bucket ${this.cfg.bucket} does not exist`, { code: 'FSDR_STORAGE_NO_BUCKET', hint: 'create it (with Object Lock if configured) or fix repositories.*.bucket', cause: err });
    }
    if (NOT_FOUND.has(name) || e.$metadata?.httpStatusCode === 404) throw new ObjectNotFoundError(key, this.description);
    if (isTimeout(err)) throw this.timedOut(op, key, err);
    if (NETWORK.has(e.code ?? '') || NETWORK.has(name) || (!e.$metadata && /ECONN|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|socket hang up/i.test(String((err as Error).message)))) throw unreachable(this.description, err);
    if (name === 'CredentialsProviderError') {
      throw new StorageError(`${op} ${key} in ${this.description}: no AWS credentials found`, { code: 'FSDR_STORAGE_CREDENTIALS', hint: 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or an instance role) in the environment of the user running fsdr — for archive_command, the postgres user', cause: err });
    }
    if (BAD_CREDENTIALS.has(name)) {
      throw new StorageError(`${op} ${key} in ${this.description}: the credentials were rejected (${name})`, { code: 'FSDR_STORAGE_CREDENTIALS', hint: name === 'SignatureDoesNotMatch' ? 'the secret access key does not match the access key id: check AWS_SECRET_ACCESS_KEY' : 'the access key is unknown or expired: check AWS_ACCESS_KEY_ID / AWS_SESSION_TOKEN or the profile in use', cause: err });
    }
    if (err instanceof Error && !e.$metadata) {
      throw new StorageError(`${op} ${key} in ${this.description} failed: ${err.message.split('\n')[0]}`, { cause: err });
    }
    if (name === 'AccessDenied') {
      throw new StorageError(`${op} ${key} in ${this.description}: access denied`, { code: 'FSDR_STORAGE_DENIED', hint: 'check the credentials the AWS SDK found (env, profile, role) and the bucket policy; a locked object version cannot be deleted', cause: err });
    }
    if (e.$metadata?.httpStatusCode === 403) {
      // HEAD answers carry no error body: a 403 there may be bad credentials or a policy.
      throw new StorageError(`${op} ${key} in ${this.description}: forbidden (HTTP 403)`, { code: 'FSDR_STORAGE_DENIED', hint: 'the credentials were rejected or a bucket policy denies this: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the profile/role) and the policy', cause: err });
    }
    throw new StorageError(`${op} ${key} in ${this.description} failed: ${name || 'error'}`, { cause: err });
  }

  async get(key: string): Promise<Readable> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.cfg.bucket, Key: this.objectKey(key) }));
      return this.mapBodyErrors(key, r.Body as Readable);
    } catch (err) {
      this.fail('get', key, err);
    }
  }

  async getVersion(key: string, versionId: string): Promise<Readable> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.cfg.bucket, Key: this.objectKey(key), VersionId: versionId }));
      return this.mapBodyErrors(key, r.Body as Readable);
    } catch (err) {
      this.fail('get', `${key} (version ${versionId})`, err);
    }
  }

  /** A download that stalls mid-body fails with the same one-line timeout error as a request. */
  private mapBodyErrors(key: string, body: Readable): Readable {
    const out = new PassThrough();
    body.on('error', (err) => out.destroy(isTimeout(err) ? this.timedOut('get', key, err) : err));
    out.on('close', () => body.destroy());
    return body.pipe(out);
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<ObjectInfo> {
    // S3 PUTs are atomic. ifAbsent: a cheap HEAD first (to avoid uploading a duplicate), then
    // If-None-Match: * so that of two racing writers exactly one wins (412 for the other).
    if (opts.ifAbsent && (await this.head(key))) {
      body.destroy();
      throw new ObjectExistsError(key, this.description);
    }
    const lock = opts.unlocked ? undefined : this.cfg.objectLock;
    const retainUntil = opts.retainUntil ?? (lock ? new Date(Date.now() + lock.days * 86_400_000) : undefined);
    try {
      const upload = new Upload({
        client: this.client,
        params: {
          Bucket: this.cfg.bucket,
          Key: this.objectKey(key),
          Body: body,
          ...(opts.ifAbsent ? { IfNoneMatch: '*' } : {}),
          ...(lock && retainUntil
            ? { ObjectLockMode: lock.mode.toUpperCase() as ObjectLockMode, ObjectLockRetainUntilDate: retainUntil }
            : {}),
        },
        partSize: 8 * 1024 * 1024,
        // One part in flight per upload: backups already upload one bundle per worker in parallel,
        // and every part buffered costs 8 MiB of memory.
        queueSize: 1,
        leavePartsOnError: false,
      });
      const r = await upload.done();
      // Some stores (moto among them) drop the lock headers of a multipart upload: set the
      // retention on the completed version explicitly (same or longer is always allowed).
      if (lock && retainUntil && /-\d+"?$/.test(r.ETag ?? '')) {
        await this.client.send(new PutObjectRetentionCommand({
          Bucket: this.cfg.bucket, Key: this.objectKey(key), VersionId: r.VersionId,
          Retention: { Mode: lock.mode.toUpperCase() as ObjectLockMode, RetainUntilDate: retainUntil },
        }));
      }
      return { key, size: 0, lastModified: new Date(), versionId: r.VersionId, retainUntil };
    } catch (err) {
      body.destroy();
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (opts.ifAbsent && (e.name === 'PreconditionFailed' || e.$metadata?.httpStatusCode === 412)) throw new ObjectExistsError(key, this.description);
      this.fail('put', key, err);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.cfg.bucket, Key: this.objectKey(key) }));
      return {
        key,
        size: r.ContentLength ?? 0,
        lastModified: r.LastModified ?? new Date(0),
        versionId: r.VersionId,
        retainUntil: r.ObjectLockRetainUntilDate,
        lockMode: r.ObjectLockMode,
      };
    } catch (err) {
      try {
        this.fail('head', key, err);
      } catch (mapped) {
        if (mapped instanceof ObjectNotFoundError) return undefined;
        throw mapped;
      }
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    const strip = this.prefix ? this.prefix.length + 1 : 0;
    do {
      let r;
      try {
        r = await this.client.send(new ListObjectsV2Command({ Bucket: this.cfg.bucket, Prefix: this.objectKey(prefix), ContinuationToken: token }));
      } catch (err) {
        this.fail('list', prefix, err);
      }
      for (const o of r.Contents ?? []) {
        yield { key: o.Key!.slice(strip), size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) };
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(keys: string[]): Promise<void> {
    await this.deleteMarking(keys);
  }

  async deleteMarking(keys: string[]): Promise<DeleteMarkerInfo[]> {
    const markers: DeleteMarkerInfo[] = [];
    const strip = this.prefix ? this.prefix.length + 1 : 0;
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      try {
        // Not Quiet: the answer names the delete markers created, which retention records.
        const r = await this.client.send(new DeleteObjectsCommand({
          Bucket: this.cfg.bucket,
          Delete: { Objects: batch.map((k) => ({ Key: this.objectKey(k) })), Quiet: false },
        }));
        if (r.Errors?.length) throw new StorageError(`delete ${r.Errors[0]!.Key} failed: ${r.Errors[0]!.Code}`);
        for (const d of r.Deleted ?? []) {
          if (d.DeleteMarker && d.DeleteMarkerVersionId) markers.push({ key: d.Key!.slice(strip), versionId: d.DeleteMarkerVersionId });
        }
      } catch (err) {
        if (err instanceof StorageError) throw err;
        this.fail('delete', batch[0]!, err);
      }
    }
    return markers;
  }

  async *listVersions(prefix: string): AsyncIterable<ObjectVersionInfo> {
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    const strip = this.prefix ? this.prefix.length + 1 : 0;
    for (;;) {
      let r;
      try {
        r = await this.client.send(new ListObjectVersionsCommand({ Bucket: this.cfg.bucket, Prefix: this.objectKey(prefix), KeyMarker, VersionIdMarker }));
      } catch (err) {
        this.fail('list versions of', prefix, err);
      }
      for (const v of r.Versions ?? []) {
        yield { key: v.Key!.slice(strip), versionId: v.VersionId!, isLatest: !!v.IsLatest, isDeleteMarker: false, lastModified: v.LastModified ?? new Date(0), size: v.Size ?? 0 };
      }
      for (const m of r.DeleteMarkers ?? []) {
        yield { key: m.Key!.slice(strip), versionId: m.VersionId!, isLatest: !!m.IsLatest, isDeleteMarker: true, lastModified: m.LastModified ?? new Date(0) };
      }
      if (!r.IsTruncated) return;
      KeyMarker = r.NextKeyMarker;
      VersionIdMarker = r.NextVersionIdMarker;
    }
  }

  async versionRetention(key: string, versionId: string): Promise<{ mode?: string; retainUntil?: Date }> {
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.cfg.bucket, Key: this.objectKey(key), VersionId: versionId }));
      return { mode: h.ObjectLockMode, retainUntil: h.ObjectLockRetainUntilDate };
    } catch (err) {
      this.fail('head', key, err);
    }
  }

  async deleteVersion(key: string, versionId: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.cfg.bucket, Key: this.objectKey(key), VersionId: versionId }));
    } catch (err) {
      this.fail('delete version of', key, err);
    }
  }

  /** Whether the bucket keeps versions and has Object Lock enabled (checked by `fsdr init`). */
  async protection(): Promise<BucketProtection> {
    let versioning = false;
    let objectLock = false;
    try {
      const v = await this.client.send(new GetBucketVersioningCommand({ Bucket: this.cfg.bucket }));
      versioning = v.Status === 'Enabled';
    } catch (err) {
      this.fail('get versioning of', this.cfg.bucket, err);
    }
    try {
      const l = await this.client.send(new GetObjectLockConfigurationCommand({ Bucket: this.cfg.bucket }));
      objectLock = l.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
    } catch (err) {
      const name = (err as { name?: string }).name ?? '';
      if (!/ObjectLockConfigurationNotFound/.test(name)) this.fail('get object lock of', this.cfg.bucket, err);
    }
    return { versioning, objectLock };
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
