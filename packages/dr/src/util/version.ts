// fsdr's own version, from the package it ships in (drill evidence records it).
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function fsdrVersion(): string {
  if (cached) return cached;
  try {
    // dist/src/util/version.js → the package root
    cached = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    cached = 'unknown';
  }
  return cached;
}
