// The values the alert rules read: the agent's own series, as name + labels + value (what a scrape
// of /metrics would give Prometheus, minus the labels Prometheus adds).
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export class Samples {
  constructor(private readonly all: Sample[]) {}

  /** Every sample of a series whose labels include `match`. */
  get(name: string, match: Record<string, string> = {}): Sample[] {
    return this.all.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
  }

  /** The one value of an unlabelled series (or of the only sample matching), if any. */
  one(name: string, match: Record<string, string> = {}): number | undefined {
    return this.get(name, match)[0]?.value;
  }
}
