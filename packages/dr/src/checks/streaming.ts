// Streaming archiving (archive.streaming) as the server sees it: the physical slot exists and a
// receiver holds it, and a receiver that died cannot fill pg_wal (max_slot_wal_keep_size). Pure.
import { fail, ok, warn, type CheckResult } from './result.js';

export interface SlotState {
  active: boolean;
  /** pg_replication_slots.wal_status: reserved, extended, unreserved, lost */
  walStatus: string | null;
}

export const SLOT_SQL = "SELECT active, wal_status FROM pg_replication_slots WHERE slot_name = $1 AND slot_type = 'physical'";

export function streamingCheck(slotName: string, slot: SlotState | undefined, maxSlotWalKeepSize: string): CheckResult {
  const check = 'streaming';
  if (!slot) return fail(check, `replication slot ${slotName} does not exist: nothing streams WAL into the repository`, 'start the agent (or fsdr stream): it creates the slot and runs pg_receivewal on it');
  if (slot.walStatus === 'lost') return fail(check, `replication slot ${slotName} has lost WAL it needed (max_slot_wal_keep_size): the stream has a hole that archive_command must fill`, `drop and recreate it: SELECT pg_drop_replication_slot('${slotName}'); the agent creates it again`);
  if (!slot.active) return fail(check, `replication slot ${slotName} is not held by a receiver: streaming is down and the slot keeps WAL in pg_wal`, 'start the agent (or fsdr stream); /status shows its pg_receivewal restarts and last exit');
  if (maxSlotWalKeepSize === '-1') return warn(check, `slot ${slotName} is streaming, but max_slot_wal_keep_size is unlimited: a receiver that stays down keeps WAL until the disk is full`, "ALTER SYSTEM SET max_slot_wal_keep_size = '10GB'; SELECT pg_reload_conf()");
  return ok(check, `slot ${slotName} is held by the receiver (wal_status ${slot.walStatus ?? 'unknown'})`);
}
