// The on-storage layout of every fsdr object (documented in docs/repository-format.md):
//   "FSDR" | version u8 | header length u16 BE | header JSON
//   frames: u32 BE (ciphertext length | FINAL bit 31) | ciphertext | 16-byte GCM tag
// The last frame (FINAL) holds the trailer: sha256 and byte count of the plaintext. Each frame's
// nonce is the header's 8-byte prefix + the frame index, and the AAD binds the header hash, the
// index and the FINAL flag, so a flipped bit, a reordered or dropped frame, or a truncation fails.
// Version 2 adds the object's key to the header (`o`): since the header hash is in every frame's
// AAD, an object copied under another name no longer authenticates there. Version 1 is still read.
import { createHash } from 'node:crypto';

export const MAGIC = Buffer.from('FSDR');
export const FORMAT_VERSION = 2;
/** Versions a reader accepts; 1 has no bound key. */
export const READABLE_VERSIONS: readonly number[] = [1, 2];
/** Magic, version and header length come before the header JSON. */
export const HEADER_PREFIX = 7;
export const FINAL_BIT = 0x80000000;
export const TAG_BYTES = 16;
export const TRAILER_BYTES = 40; // sha256 (32) + plaintext size u64 (8)
// 1 MiB frames: large enough that per-frame overhead is small, small enough to keep memory bounded.
export const DEFAULT_CHUNK = 1024 * 1024;
/** A frame larger than this is corruption, not data: refuse before allocating for it. */
export const MAX_FRAME = 16 * 1024 * 1024;

export interface ObjectHeader {
  /** compression applied before encryption */
  c: 'zstd' | 'none';
  /** cipher */
  e: 'aes-256-gcm';
  /** master key fingerprint that wrapped the data key */
  k: string;
  /** wrapped data key, base64 (iv 12 | ciphertext 32 | tag 16) */
  w: string;
  /** nonce prefix, base64 (8 bytes) */
  n: string;
  /** what the trailer's digest is: sha256 of the plaintext, or none (size only; the content is
   * covered by checksums kept elsewhere, e.g. per file in a backup manifest). Absent: sha256. */
  h?: 'sha256' | 'none';
  /** (version 2) the storage key the object was written under, relative to the repository root */
  o?: string;
}

export function encodeHeader(h: ObjectHeader, version = FORMAT_VERSION): Buffer {
  const json = Buffer.from(JSON.stringify(h));
  const pre = Buffer.alloc(HEADER_PREFIX);
  MAGIC.copy(pre, 0);
  pre.writeUInt8(version, 4);
  pre.writeUInt16BE(json.length, 5);
  return Buffer.concat([pre, json]);
}

export function headerHash(headerBytes: Buffer): Buffer {
  return createHash('sha256').update(headerBytes).digest();
}

export function frameNonce(prefix: Buffer, index: number): Buffer {
  const n = Buffer.alloc(12);
  prefix.copy(n, 0, 0, 8);
  n.writeUInt32BE(index, 8);
  return n;
}

export function frameAad(hHash: Buffer, index: number, final: boolean): Buffer {
  const a = Buffer.alloc(37);
  hHash.copy(a, 0);
  a.writeUInt32BE(index, 32);
  a.writeUInt8(final ? 1 : 0, 36);
  return a;
}

export function encodeTrailer(sha256: Buffer, size: number): Buffer {
  const t = Buffer.alloc(TRAILER_BYTES);
  sha256.copy(t, 0);
  t.writeBigUInt64BE(BigInt(size), 32);
  return t;
}

export function decodeTrailer(t: Buffer): { sha256: string; size: number } {
  return { sha256: t.subarray(0, 32).toString('hex'), size: Number(t.readBigUInt64BE(32)) };
}
