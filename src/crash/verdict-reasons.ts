import type { CrashVerdict } from '../oracle/index.js';

/** One line per violated check (and for a failed recovery), for trial lines and recheck. */
export function reasonsOf(verdict: CrashVerdict, recoveryFailure: { code: string; message: string } | null): string[] {
  const reasons: string[] = [];
  if (recoveryFailure) reasons.push(`recovery failed: ${recoveryFailure.code}: ${recoveryFailure.message}`);
  const c = verdict.checks;
  if (c.durability.status === 'violated') {
    reasons.push(`durability: ${c.durability.missing.count} required entries missing (first: ${c.durability.missing.seqs.slice(0, 5).join(', ')})`);
  }
  if (c.integrity.status === 'violated') {
    reasons.push(
      `integrity: ${c.integrity.mismatched.count} payload mismatches, ${c.integrity.neverAppended.count} never appended, ${c.integrity.duplicated.count} duplicated`,
    );
  }
  if (c.prefix.status === 'violated') {
    const p = c.prefix;
    reasons.push(
      `prefix: ${p.gaps.count} gaps${p.outOfOrder ? ', out of order' : ''}${p.headMissing ? `, head missing (starts at ${p.headMissing.firstRecovered})` : ''}`,
    );
  }
  if (c.acknowledgement.status === 'violated') {
    reasons.push(`acknowledgement: ${c.acknowledgement.ackedAfterSyncFailure.count} acks after a failed sync`);
  }
  return reasons;
}
