import type { Contract } from '../targets/contract.js';
import { EVIDENCE_LIMIT } from './verdict-types.js';

// The judge of a target trial (issue 14), pure: the program's acknowledgements and announced
// operations up to the cut, what its check says survived, and the setting's contract in, a
// verdict out. Per key only the last acknowledged value counts (a later overwrite replaces it):
//   lost           the key is gone, or holds an older acknowledged value than its last one
//   beyond contract  a lost acknowledgement the promise required to survive
//   allowed loss   a lost acknowledgement the promise did not cover (a weak setting shown weak)
//   phantom        a surviving value that was never written under its key (or a key never
//                  written at all, when the program announces its operations with "~" lines)
//   corruption     the check failed, hung, or the program could not open its data

export interface AckRecord {
  key: string;
  digest: string;
  /** When the harness read the line, in ms from the trial's start (after the program's ack). */
  atMs: number;
}

export interface CheckReport {
  status: 'intact' | 'damaged' | 'timed-out';
  /** What the check said was wrong (its stderr's last line, or the timeout). */
  message: string | null;
  survivors: ReadonlyMap<string, string>;
}

export interface TargetJudgeInput {
  /** Acknowledgements, in the order the program wrote them. */
  acks: readonly AckRecord[];
  /** Announced operations ("~" lines), in order; empty when the program announces none. */
  intents: readonly { key: string; digest: string }[];
  /** The cut, in ms from the trial's start. */
  cutAtMs: number;
  contract: Contract;
  check: CheckReport;
}

export type TargetCheckName = 'durability' | 'integrity' | 'phantom';

export interface TargetLoss {
  /** Distinct keys written (acknowledged or announced). */
  written: number;
  /** Distinct keys acknowledged. */
  acked: number;
  /** Keys the check returned. */
  survived: number;
  ackedButLost: number;
  lostBeyondContract: number;
  allowedLoss: number;
  phantoms: number;
  /** Keys that survived without an acknowledgement nor an announcement (the program sent no "~" lines). */
  unknownSurvivors: number;
}

export interface TargetVerdict {
  status: 'held' | 'violated';
  violated: TargetCheckName[];
  loss: TargetLoss;
  /** The check's complaint, when it failed or hung (a violation unless the contract allows it). */
  corruption: string | null;
  evidence: { lostBeyondContract: string[]; allowedLoss: string[]; phantoms: string[] };
}

/** Whether the promise requires ack `i` of `total` (read at `atMs`) to survive a cut at `cutAtMs`. */
function required(contract: Contract, i: number, total: number, atMs: number, cutAtMs: number): boolean {
  const p = contract.promise;
  switch (p.kind) {
    case 'durable':
      return true;
    case 'none':
      return false;
    case 'window':
      return atMs < cutAtMs - p.ms;
    case 'last':
      return i < total - p.n;
  }
}

export function judgeTarget(input: TargetJudgeInput): TargetVerdict {
  const { acks, intents, check, contract } = input;
  // Every value written under each key, in order, and the index of the last acknowledged one.
  const values = new Map<string, string[]>();
  const note = (key: string, digest: string): number => {
    const list = values.get(key) ?? [];
    if (!values.has(key)) values.set(key, list);
    const at = list.lastIndexOf(digest);
    if (at >= 0) return at;
    list.push(digest);
    return list.length - 1;
  };
  for (const i of intents) note(i.key, i.digest);
  const lastAck = new Map<string, { index: number; position: number; atMs: number }>();
  acks.forEach((a, position) => lastAck.set(a.key, { index: note(a.key, a.digest), position, atMs: a.atMs }));

  const beyond: string[] = [];
  const allowed: string[] = [];
  for (const [key, ack] of lastAck) {
    const survivor = check.survivors.get(key);
    const list = values.get(key) ?? [];
    const at = survivor === undefined ? -1 : list.indexOf(survivor);
    // Survived: the acknowledged value or one written after it (in flight at the cut).
    if (at >= ack.index) continue;
    if (survivor !== undefined && at < 0) continue; // a phantom value: counted below
    (required(contract, ack.position, acks.length, ack.atMs, input.cutAtMs) ? beyond : allowed).push(key);
  }
  const phantoms: string[] = [];
  let unknownSurvivors = 0;
  for (const [key, digest] of check.survivors) {
    const list = values.get(key);
    if (list === undefined) {
      if (intents.length > 0) phantoms.push(key);
      else unknownSurvivors++;
    } else if (!list.includes(digest)) phantoms.push(key);
  }
  const corruption = check.status === 'intact' ? null : (check.message ?? `the check reported ${check.status}`);
  const violated: TargetCheckName[] = [];
  if (beyond.length > 0) violated.push('durability');
  if (corruption !== null && !contract.mayCorrupt) violated.push('integrity');
  if (phantoms.length > 0) violated.push('phantom');
  const cap = (keys: string[]) => keys.slice(0, EVIDENCE_LIMIT);
  return {
    status: violated.length === 0 ? 'held' : 'violated',
    violated,
    loss: {
      written: values.size,
      acked: lastAck.size,
      survived: check.survivors.size,
      ackedButLost: beyond.length + allowed.length,
      lostBeyondContract: beyond.length,
      allowedLoss: allowed.length,
      phantoms: phantoms.length,
      unknownSurvivors,
    },
    corruption,
    evidence: { lostBeyondContract: cap(beyond), allowedLoss: cap(allowed), phantoms: cap(phantoms) },
  };
}

/** One reason per violated check, for the per-trial line and the artifact. */
export function targetReasons(v: TargetVerdict): string[] {
  const reasons: string[] = [];
  const l = v.loss;
  if (v.violated.includes('durability'))
    reasons.push(`durability: ${l.lostBeyondContract} acknowledged keys lost beyond the contract (${v.evidence.lostBeyondContract.join(', ')})`);
  if (v.violated.includes('integrity')) reasons.push(`integrity: ${v.corruption ?? 'damaged'}`);
  if (v.violated.includes('phantom')) reasons.push(`phantom: ${l.phantoms} keys hold a value never written (${v.evidence.phantoms.join(', ')})`);
  return reasons;
}
