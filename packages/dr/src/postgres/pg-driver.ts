// The pg driver, loaded without undici on Node 20. pg picks its socket implementation when it is
// loaded: it asks whether it runs in a Cloudflare Worker, and where `navigator` is missing (Node
// 20; Node 21+ has one) it probes with `new Response(...)`, which loads Node's whole fetch stack
// (undici): about 6 MiB of every process that talks to PostgreSQL, a backup's included. A
// `navigator` that says Node.js exists only while pg loads, so the probe is answered without it.
import { createRequire } from 'node:module';

const g = globalThis as { navigator?: unknown };
const lent = g.navigator === undefined;
if (lent) Object.defineProperty(g, 'navigator', { value: { userAgent: 'Node.js' }, configurable: true, writable: true });
const pg = createRequire(import.meta.url)('pg') as typeof import('pg');
if (lent) delete g.navigator;

export { pg as pgDriver };
