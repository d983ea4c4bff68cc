// Jobs that share a repository inside one agent: most only add or read objects and may overlap;
// expire deletes, so it runs alone (a replicate or verify that lists an object expire then deletes
// would fail or report a false fault). A readers-writer gate, writer-preferring so that a steady
// stream of short jobs cannot postpone retention forever.
export class JobGate {
  private shared = 0;
  private exclusive = false;
  private readonly waiting: Array<{ exclusive: boolean; go: () => void }> = [];

  async enter(exclusive: boolean): Promise<() => void> {
    if (this.canEnter(exclusive) && !this.waiting.length) this.take(exclusive);
    else await new Promise<void>((go) => this.waiting.push({ exclusive, go: () => { this.take(exclusive); go(); } }));
    let left = false;
    return () => {
      if (left) return;
      left = true;
      if (exclusive) this.exclusive = false;
      else this.shared--;
      this.wake();
    };
  }

  private canEnter(exclusive: boolean): boolean {
    return exclusive ? !this.exclusive && this.shared === 0 : !this.exclusive;
  }

  private take(exclusive: boolean): void {
    if (exclusive) this.exclusive = true;
    else this.shared++;
  }

  private wake(): void {
    // In arrival order: an exclusive waiter at the head holds back the shared ones behind it.
    while (this.waiting.length && this.canEnter(this.waiting[0]!.exclusive)) {
      const w = this.waiting.shift()!;
      w.go();
      if (w.exclusive) break;
    }
  }
}
