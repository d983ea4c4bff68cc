// FeatureSignals bucketing: murmur3_x86_32(utf8(flagKey + "." + key), seed 0) % 10000 (basis points).
import { murmur3String } from './murmur3.js';

export const BUCKETS = 10000;

export function bucketUser(flagKey: string, key: string): number {
  return murmur3String(`${flagKey}.${key}`, 0) % BUCKETS;
}
