// CLI verb printing the fast archive_command (bin/fsdr-archive.sh) for this config.
import type { Command } from 'commander';
import { action } from './exit.js';
import { cfgOf, print } from './shared.js';

export function addArchiveCommand(program: Command): void {
  program
    .command('archive-command')
    .description('print the archive_command that confirms segments the background pusher already stored, without starting Node (archive.async)')
    .option('--json', 'print JSON (command, statusDir, setting)')
    .addHelpText('after', "\nExample:\n  fsdr --config /etc/fsdr.yaml archive-command\n  # archive_command = '/opt/fsdr/bin/fsdr-archive.sh /var/lib/fsdr/spool/archive-status/0a1b… %p /usr/bin/node /opt/fsdr/bin/fsdr.js --config /etc/fsdr.yaml wal-push'\n")
    .action(action(async (o: { json?: boolean }, cmd: Command) => {
      const { archiveCommandFor } = await import('../commands/wal-push/archive-command.js');
      const r = await archiveCommandFor(await cfgOf(cmd));
      print(!!o.json, r, () => r.setting);
    }));
}
