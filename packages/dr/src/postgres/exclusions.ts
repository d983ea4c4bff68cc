// What a physical backup leaves out of the data directory, per PostgreSQL's documentation
// ("Backing Up the Data Directory"): WAL (restored from the archive), runtime state, temp files.
// Directories listed here are kept empty in the backup (they must exist at restore).

const EMPTY_DIRS = new Set(['pg_wal', 'pg_replslot', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_stat_tmp', 'pg_subtrans']);
const SKIP_FILES = new Set([
  'postmaster.pid', 'postmaster.opts', 'backup_label', 'tablespace_map', 'recovery.signal', 'standby.signal',
  'pg_internal.init', 'backup_label.old', 'recovery.conf', 'current_logfiles',
]);

/** True when the directory `rel` (relative to pgdata) is kept but its contents are not. */
export function isEmptiedDir(rel: string): boolean {
  return EMPTY_DIRS.has(rel) || rel.startsWith('pg_wal/');
}

/** True when the file `rel` is not backed up. */
export function isSkippedFile(rel: string): boolean {
  const name = rel.slice(rel.lastIndexOf('/') + 1);
  if (SKIP_FILES.has(name)) return true;
  if (name.startsWith('pgsql_tmp')) return true;
  if (rel.includes('/pgsql_tmp/')) return true;
  return false;
}

/**
 * Unlogged relations are reset at recovery: keep only their init fork (`_init`). `initForks` is the
 * set of relation file nodes (per directory) that have an init fork.
 */
export function isUnloggedNonInit(rel: string, initForks: Set<string>): boolean {
  const slash = rel.lastIndexOf('/');
  const dir = rel.slice(0, slash);
  const name = rel.slice(slash + 1);
  const m = /^(\d+)(_(fsm|vm))?(\.\d+)?$/.exec(name);
  if (!m) return false;
  return initForks.has(`${dir}/${m[1]}`);
}
