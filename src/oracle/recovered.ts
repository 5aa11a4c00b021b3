import { payloadDigest } from '../workload/events.js';
import { OracleInputError } from './history.js';

/** One entry WAL recovery returned, identified by its digest or carrying its payload. */
export type RecoveredEntry = { seq: number; digest: string } | { seq: number; payload: Uint8Array };

/** A recovered entry reduced to what the checks compare. */
export interface RecoveredDigest {
  seq: number;
  digest: string;
}

/** Normalise recovered entries to digests, in recovery order (the order recovery returned them). */
export function toDigests(recovered: readonly RecoveredEntry[]): RecoveredDigest[] {
  return recovered.map((entry, index) => {
    if (!Number.isSafeInteger(entry.seq) || entry.seq < 0) {
      throw new OracleInputError('ORACLE_BAD_RECOVERED', `recovered entry ${index} has an invalid seq ${String(entry.seq)}`);
    }
    return 'payload' in entry ? { seq: entry.seq, digest: payloadDigest(entry.payload) } : { seq: entry.seq, digest: entry.digest };
  });
}
