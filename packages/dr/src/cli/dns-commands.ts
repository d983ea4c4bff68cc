// CLI verbs for DNS: `fsdr dns show` and `fsdr dns set`, so an SRE can check or repoint a name
// by hand through the same provider recover and failover use.
import { InvalidArgumentError, type Command } from 'commander';
import { action } from './exit.js';
import { cfgOf, print } from './shared.js';
import { intIn } from './options.js';

const recordType = (v: string): 'A' | 'AAAA' | 'CNAME' => {
  const t = v.toUpperCase();
  if (t !== 'A' && t !== 'AAAA' && t !== 'CNAME') throw new InvalidArgumentError('expected A, AAAA or CNAME');
  return t;
};

export function addDnsCommands(program: Command): void {
  const dns = program
    .command('dns')
    .description('check or repoint a DNS name through the configured provider (dns.providers)')
    .addHelpText('after', '\nExamples:\n  fsdr dns show api.featuresignals.example\n  fsdr dns set api.featuresignals.example 10.0.1.20 --ttl 60\n');
  dns
    .command('show <name>')
    .description('show the answer a name has now at the provider (the zone\'s primary, or Route 53)')
    .option('--type <type>', 'A, AAAA or CNAME', recordType, 'A')
    .option('--provider <name>', 'provider from dns.providers (default: the only one)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  fsdr dns show api.featuresignals.example\n  fsdr dns show api.featuresignals.example --type CNAME --provider route53 --json\n')
    .action(action(async (name: string, o: { type: 'A' | 'AAAA' | 'CNAME'; provider?: string; json?: boolean }, cmd: Command) => {
      const { dnsShow, formatAnswer } = await import('../commands/dns/dns.js');
      const r = await dnsShow(await cfgOf(cmd), { name, type: o.type, provider: o.provider });
      print(!!o.json, r, () => `${r.name} ${r.type}: ${formatAnswer(r)} at ${r.provider}`);
    }));
  dns
    .command('set <name> <address>')
    .description('repoint a name: replace its records of one type in one atomic change, then read the answer back')
    .option('--type <type>', 'A, AAAA or CNAME (default: from the address: IPv4 A, IPv6 AAAA, a name CNAME)', recordType)
    .option('--ttl <seconds>', 'TTL of the new record (default: dns.ttl, 60)', intIn(1, 86400))
    .option('--provider <name>', 'provider from dns.providers (default: the only one)')
    .option('--json', 'print JSON (old and new answer)')
    .addHelpText('after', '\nExamples:\n  fsdr dns set api.featuresignals.example 10.0.1.20\n  fsdr dns set api.featuresignals.example lb.eu-west-1.example --type CNAME --ttl 60 --json\n')
    .action(action(async (name: string, address: string, o: { type?: 'A' | 'AAAA' | 'CNAME'; ttl?: number; provider?: string; json?: boolean }, cmd: Command) => {
      const { dnsSet, formatAnswer } = await import('../commands/dns/dns.js');
      const r = await dnsSet(await cfgOf(cmd), { name, address, type: o.type, ttl: o.ttl, provider: o.provider });
      print(!!o.json, r, () => `${r.name} ${r.type} at ${r.provider}\n  old: ${formatAnswer(r.old)}\n  new: ${formatAnswer(r.new)}`);
    }));
}
