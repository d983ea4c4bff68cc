// A queue of buffers that hands out exact byte counts without re-concatenating everything it
// holds, so parsing framed streams costs one copy per frame at most.
export class ByteQueue {
  private parts: Buffer[] = [];
  length = 0;

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.parts.push(b);
    this.length += b.length;
  }

  /** Look at the first n bytes without consuming them (n <= length). */
  peek(n: number): Buffer {
    if (this.parts[0]!.length >= n) return this.parts[0]!.subarray(0, n);
    const out = Buffer.concat(this.parts, Math.max(n, 0)).subarray(0, n);
    return out;
  }

  /** Remove and return the first n bytes (n <= length). */
  take(n: number): Buffer {
    const first = this.parts[0]!;
    if (first.length === n) {
      this.parts.shift();
      this.length -= n;
      return first;
    }
    if (first.length > n) {
      this.parts[0] = first.subarray(n);
      this.length -= n;
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const p = this.parts[0]!;
      const want = n - off;
      if (p.length <= want) {
        p.copy(out, off);
        off += p.length;
        this.parts.shift();
      } else {
        p.copy(out, off, 0, want);
        this.parts[0] = p.subarray(want);
        off += want;
      }
    }
    this.length -= n;
    return out;
  }
}
