// The lean path for archive_command/restore_command: PostgreSQL runs these once per WAL file, so
// they skip commander and load only what pushing or fetching needs (storage backends lazily).
import { loadConfigCached } from '../config/cache.js';
import { fail, RESTORE_COMMAND_FATAL } from './exit.js';

function parse(args: string[]): { config?: string; repo?: string; asOf?: string; rest: string[] } {
  const rest: string[] = [];
  let config: string | undefined;
  let repo: string | undefined;
  let asOf: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--config' || a === '-c') config = args[++i];
    else if (a.startsWith('--config=')) config = a.slice(9);
    else if (a === '--repo') repo = args[++i];
    else if (a.startsWith('--repo=')) repo = a.slice(7);
    else if (a === '--as-of') asOf = args[++i];
    else if (a.startsWith('--as-of=')) asOf = a.slice(8);
    else rest.push(a);
  }
  return { config, repo, asOf, rest };
}

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...args] = argv;
  const { config, repo, asOf, rest } = parse(args);
  // Exit 0 tells PostgreSQL "stored" or "restored". If a bug leaves a promise that never settles,
  // node would exit 0 once the event loop drains: turn that into a failure, never a success.
  let settled = false;
  process.once('beforeExit', () => {
    if (!settled) fail(new Error(`${cmd} stalled without finishing (an internal error): nothing was ${cmd === 'wal-push' ? 'archived' : 'restored'}`), cmd === 'wal-fetch' ? RESTORE_COMMAND_FATAL : undefined);
  });
  try {
    const cfg = await loadConfigCached(config);
    if (cmd === 'wal-push') {
      if (rest.length !== 1) throw new Error('usage: fsdr wal-push [--config FILE] <path>   (archive_command = \'fsdr wal-push %p\')');
      const { walPush } = await import('../commands/wal-push/wal-push.js');
      await walPush(cfg, rest[0]!);
    } else {
      if (rest.length !== 2) throw new Error("usage: fsdr wal-fetch [--config FILE] [--repo NAME] [--as-of TIME] <name> <dest>   (restore_command = 'fsdr wal-fetch %f %p')");
      const { walFetch } = await import('../commands/wal-fetch/wal-fetch.js');
      const { parseAsOf } = await import('./as-of.js');
      if (!(await walFetch(cfg, rest[0]!, rest[1]!, repo, parseAsOf(asOf)))) process.exit(1);
    }
    settled = true;
  } catch (err) {
    settled = true;
    fail(err, cmd === 'wal-fetch' ? RESTORE_COMMAND_FATAL : undefined);
  }
}
