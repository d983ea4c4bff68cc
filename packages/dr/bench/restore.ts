// `npm run bench -- restore`: the same run as `-- backup` (a restore needs the backups it makes);
// see backup.ts. Both print the backup and the restore figures side by side.
export { run } from './backup.js';
