// CLI verb for the runbook: fsdr runbook [--format md|html] [--out FILE] and the values to fill in.
import { writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { action } from './exit.js';
import { cfgOf } from './shared.js';
import { isoTime, port } from './options.js';

export function addRunbookCommand(program: Command): void {
  program
    .command('runbook')
    .description('write the restore runbook for this deployment: each scenario of the plan, numbered steps with the exact commands, how to check each, what to do if it fails')
    .addOption(new Option('--format <format>', 'md or html (a self-contained page)').choices(['md', 'html']).default('md'))
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--target-time <time>', 'fill in the recovery target (ISO 8601 with a zone)', isoTime)
    .option('--pgdata <dir>', 'fill in the new instance\'s data directory')
    .option('--port <n>', 'fill in the new instance\'s port', port)
    .option('--server-url <url>', 'fill in the FeatureSignals server\'s URL')
    .option('--no-state', 'do not read the repositories (config only)')
    .addHelpText('after', '\nExamples:\n  fsdr runbook --format html --out /srv/runbook.html\n  fsdr runbook --target-time 2026-11-27T14:05:00Z --pgdata /srv/pg-new --port 5433\n')
    .action(action(async (o: { format: 'md' | 'html'; out?: string; targetTime?: string; pgdata?: string; port?: number; serverUrl?: string; state: boolean }, cmd: Command) => {
      const { generateRunbook } = await import('../commands/runbook/runbook.js');
      const text = await generateRunbook(await cfgOf(cmd), o);
      if (o.out) writeFileSync(o.out, text);
      else process.stdout.write(text);
    }));
}
