// The shapes every check returns: a union tagged by status, evidence only when violated.

/** Lists of seqs in evidence are capped so a verdict of a million-entry run stays printable. */
export const EVIDENCE_LIMIT = 20;

export interface SeqList {
  /** The first EVIDENCE_LIMIT seqs, ascending. */
  seqs: number[];
  /** How many there are in total. */
  count: number;
}

export function seqList(seqs: Iterable<number>): SeqList {
  const all = [...seqs].sort((a, b) => a - b);
  return { seqs: all.slice(0, EVIDENCE_LIMIT), count: all.length };
}

export type CheckName = 'durability' | 'integrity' | 'prefix' | 'acknowledgement' | 'expectation';

export type CheckResult<Held, Violated> = ({ status: 'held' } & Held) | ({ status: 'violated' } & Violated);
