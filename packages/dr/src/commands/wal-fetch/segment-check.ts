// The last check before PostgreSQL gets a segment: its first page must be the one its name says.
// A format 1 object (not bound to its key) copied over another segment's name still decrypts, and
// PostgreSQL would take it for the end of the WAL and end recovery early.
import { IntegrityError } from '../../errors.js';
import { readWalSegmentHeader, segmentHeaderProblem, type SegmentExpectation } from '../../postgres/wal-header.js';
import type { WalName } from '../../postgres/wal-name.js';
import { walKey } from '../../repository/layout.js';

/** Throws an IntegrityError naming the segment and what it holds; history, backup and .partial files pass. */
export async function checkSegmentFile(path: string, w: WalName, expect: SegmentExpectation): Promise<void> {
  if (w.kind !== 'segment') return;
  const problem = segmentHeaderProblem(w, await readWalSegmentHeader(path), expect);
  if (problem) {
    throw new IntegrityError(walKey(w), `WAL segment ${w.name} holds ${problem}`, {
      hint: 'the archive was tampered with or mis-copied; it was not given to PostgreSQL, so recovery stops here instead of ending early; restore the object from a replica repository',
    });
  }
}
