// @featuresignals/testkit: real-server harnesses (PostgreSQL, redis-server, moto, BIND named, etcd, Patroni, HAProxy) on free loopback ports.
export { HarnessError } from './errors.js';
export { freePort } from './free-port.js';
export { findPgBinDir } from './pg-binaries.js';
export { startPostgres, type PostgresHandle, type StartPostgresOptions } from './postgres.js';
export { startRedis, type RedisHandle, type StartRedisOptions } from './redis.js';
export { sleep, waitUntil } from './wait.js';
export { startMoto, type MotoHandle } from './moto.js';
export { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
export { startNamed, type NamedHandle, type StartNamedOptions } from './named.js';
export { startEtcd, type EtcdHandle } from './etcd.js';
export { startPatroni, type PatroniHandle, type StartPatroniOptions } from './patroni.js';
export { startHaproxy, type HaproxyHandle, type HaproxyBackend, type StartHaproxyOptions } from './haproxy.js';
