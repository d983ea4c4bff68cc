// CLI verbs for golden evaluation captures: golden capture, golden list, golden show.
import type { Command } from 'commander';
import { action } from './exit.js';
import { cfgOf, print } from './shared.js';

export function addGoldenCommands(program: Command): void {
  const golden = program.command('golden').description('golden evaluation sets: captured through the live FeatureSignals server, kept in the repository');
  golden
    .command('capture')
    .description('record every flag × context evaluation through the server (stack.url, stack.keys), check the eval module agrees, store it with the cluster\'s LSN under drills/golden/')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', '\nExample:\n  fsdr golden capture --json\n')
    .action(action(async (o: { json?: boolean }, cmd: Command) => {
      const { runGoldenCapture, summariseGolden } = await import('../commands/golden/golden.js');
      const { formatGolden } = await import('../commands/golden/format-golden.js');
      const s = summariseGolden(await runGoldenCapture(await cfgOf(cmd)));
      print(!!o.json, s, () => formatGolden(s));
    }));
  golden
    .command('list')
    .description('list the golden captures in the repository, oldest first')
    .option('--repo <name>', 'repository', 'primary')
    .option('--json', 'print JSON')
    .action(action(async (o: { repo: string; json?: boolean }, cmd: Command) => {
      const { listGolden } = await import('../commands/golden/golden.js');
      const { formatGoldenList } = await import('../commands/golden/format-golden.js');
      const list = await listGolden(await cfgOf(cmd), o.repo);
      print(!!o.json, list, () => formatGoldenList(list));
    }));
  golden
    .command('show <id>')
    .description('one capture: environments, ruleset versions, flags and contexts counted, fingerprint')
    .option('--repo <name>', 'repository', 'primary')
    .option('--json', 'print the summary as JSON')
    .option('--record', 'print the whole golden record as JSON (the input of fs-golden compare --golden)')
    .action(action(async (id: string, o: { repo: string; json?: boolean; record?: boolean }, cmd: Command) => {
      const { showGolden, summariseGolden } = await import('../commands/golden/golden.js');
      const { formatGolden } = await import('../commands/golden/format-golden.js');
      const c = await showGolden(await cfgOf(cmd), id, o.repo);
      if (o.record) return print(true, c.record, () => '');
      const s = summariseGolden(c);
      print(!!o.json, s, () => formatGolden(s));
    }));
}
