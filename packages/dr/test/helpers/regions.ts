// Two regions on one machine: each with its own PostgreSQL cluster and repository (an S3 bucket
// on its own moto, reached through a TCP proxy that a test can cut to take the region offline).
import { startMoto, startTcpProxy, type MotoHandle, type TcpProxy } from '@featuresignals/testkit';
import { createBucket, s3Client } from './s3.js';
import type { Workspace } from './fsdr.js';

export interface Region {
  name: string;
  moto: MotoHandle;
  proxy: TcpProxy;
  bucket: string;
  repository: Record<string, unknown>;
  cluster: { connection: string; pgdata: string };
}

export async function startRegion(name: string): Promise<Region> {
  const moto = await startMoto();
  const proxy = await startTcpProxy(moto.port);
  const bucket = `fsdr-${name}`;
  await createBucket(s3Client(moto), bucket, false);
  return {
    name, moto, proxy, bucket,
    repository: { type: 's3', bucket, endpoint: `http://127.0.0.1:${proxy.port}`, forcePathStyle: true, timeouts: { connectSeconds: 2, idleSeconds: 5 }, attempts: 1 },
    cluster: { connection: 'postgres://postgres@127.0.0.1:1/postgres', pgdata: '/unused' },
  };
}

export async function stopRegion(r: Region | undefined): Promise<void> {
  await r?.proxy.close();
  await r?.moto.stop();
}

/** The fsdr.yaml of region `self`'s node (written as `<self>.yaml`). */
export function writeRegionConfig(ws: Workspace, self: Region, primary: Region, standby: Region, extra: Record<string, unknown> = {}, members: Record<string, Record<string, unknown>> = {}): string {
  const member = (r: Region) => ({ cluster: r.cluster, repository: r.repository, ...members[r.name] });
  return ws.writeConfig({
    regions: { primary: primary.name, standby: standby.name, self: self.name, members: { [primary.name]: member(primary), [standby.name]: member(standby) } },
    encryption: { masterKey: `file:${ws.keyFile}` },
    ...extra,
  }, `${self.name}.yaml`);
}

/** AWS credentials for fsdr children (both motos accept the same static test credentials). */
export function awsEnv(r: Region): Record<string, string> {
  return { ...r.moto.env };
}
