// With `regions:`, a node's configuration is its region's: the top-level cluster, the primary
// repository and the stack are derived from regions.members[self], and the other region's
// repository becomes a replica named after it, so `fsdr replicate` copies own → other. After a
// failover the new primary's node runs the same commands and replication reverses by itself.
import { ConfigError } from '../errors.js';
import type { FileConfig, RegionsConfig, RepositoryConfig } from './schema.js';

type Parsed = Omit<FileConfig, 'repositories'> & { repositories?: { primary?: RepositoryConfig; [name: string]: RepositoryConfig | undefined } };

export function selfRegion(r: RegionsConfig): string {
  return r.self ?? r.primary;
}

/** The other region of the pair. */
export function otherRegion(r: RegionsConfig, name: string): string {
  return name === r.primary ? r.standby : r.primary;
}

export function deriveRegions(c: Parsed): FileConfig {
  const r = c.regions;
  if (!r) {
    const primary = c.repositories?.primary;
    if (!primary) throw new ConfigError('', `${c.repositories ? 'repositories.primary' : 'repositories'}: required (at least repositories.primary, or regions)`, { hint: 'see the configuration reference in README.md' });
    return { ...c, repositories: { ...(c.repositories as Record<string, RepositoryConfig>), primary } };
  }
  const clash = [c.cluster && 'cluster', c.repositories?.primary && 'repositories.primary', c.stack && 'stack'].filter(Boolean);
  if (clash.length) {
    throw new ConfigError('', `${clash.join(', ')}: not allowed with regions (each region names its own under regions.members)`, {
      hint: `move them to regions.members.${selfRegion(r)} and set regions.self on each region's node`,
    });
  }
  const self = selfRegion(r);
  const other = otherRegion(r, self);
  if (c.repositories?.[other]) throw new ConfigError('', `repositories.${other}: the repository of region ${other} comes from regions.members.${other}.repository`);
  const mine = r.members[self]!;
  return {
    ...c,
    cluster: mine.cluster,
    stack: mine.stack,
    repositories: { ...(c.repositories as Record<string, RepositoryConfig>), primary: mine.repository, [other]: r.members[other]!.repository },
  };
}
