// Envelope encryption: each object gets its own random data key, stored in the object's header
// wrapped (AES-256-GCM) by the master key. The master key never touches the repository.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export function newDataKey(): Buffer {
  return randomBytes(32);
}

export function wrapKey(masterKey: Buffer, dataKey: Buffer): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', masterKey, iv);
  c.setAAD(Buffer.from('fsdr-data-key'));
  const ct = Buffer.concat([c.update(dataKey), c.final()]);
  return Buffer.concat([iv, ct, c.getAuthTag()]);
}

/** Returns undefined when the master key does not open the wrapped key. */
export function unwrapKey(masterKey: Buffer, wrapped: Buffer): Buffer | undefined {
  if (wrapped.length !== 60) return undefined;
  try {
    const d = createDecipheriv('aes-256-gcm', masterKey, wrapped.subarray(0, 12));
    d.setAAD(Buffer.from('fsdr-data-key'));
    d.setAuthTag(wrapped.subarray(44));
    return Buffer.concat([d.update(wrapped.subarray(12, 44)), d.final()]);
  } catch {
    return undefined;
  }
}
