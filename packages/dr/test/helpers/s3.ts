// S3 helpers for tests against the moto server: buckets with or without Object Lock, raw reads of
// every object version (to look for plaintext and check retention the way an auditor would).
import {
  CreateBucketCommand, GetObjectCommand, ListObjectVersionsCommand, S3Client, type ObjectVersion,
} from '@aws-sdk/client-s3';
import type { MotoHandle } from '@featuresignals/testkit';

export function s3Client(moto: MotoHandle): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint: moto.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: moto.env.AWS_ACCESS_KEY_ID!, secretAccessKey: moto.env.AWS_SECRET_ACCESS_KEY! },
  });
}

export async function createBucket(c: S3Client, name: string, objectLock: boolean): Promise<void> {
  await c.send(new CreateBucketCommand({ Bucket: name, ObjectLockEnabledForBucket: objectLock }));
}

export async function listVersions(c: S3Client, bucket: string, prefix = ''): Promise<ObjectVersion[]> {
  const out: ObjectVersion[] = [];
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  for (;;) {
    const r = await c.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker, VersionIdMarker }));
    out.push(...(r.Versions ?? []));
    if (!r.IsTruncated) return out;
    KeyMarker = r.NextKeyMarker;
    VersionIdMarker = r.NextVersionIdMarker;
  }
}

export async function getRaw(c: S3Client, bucket: string, key: string, versionId?: string): Promise<Buffer> {
  const r = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  return Buffer.from(await r.Body!.transformToByteArray());
}
