import { describe, expect, it } from 'vitest';
import { againstExpectation, asExpected } from '../../src/crash/explore/expected-verdict.js';

const caught = { expected: { verdict: 'violated' as const, why: 'lies about fsync' } };

describe('a recording judged against what it is for', () => {
  it('a recording that must hold: held passes, violated fails', () => {
    expect(asExpected(againstExpectation({}, false))).toBe(true);
    expect(againstExpectation({}, true)).toEqual({ status: 'violated' });
    expect(asExpected(againstExpectation({}, true))).toBe(false);
  });

  it('a recording meant to be caught: caught passes, held is a miss (the check lost its power)', () => {
    expect(againstExpectation(caught, true)).toEqual({ status: 'caught-as-expected', why: 'lies about fsync' });
    expect(asExpected(againstExpectation(caught, true))).toBe(true);
    expect(againstExpectation(caught, false)).toEqual({ status: 'missed', why: 'lies about fsync' });
    expect(asExpected(againstExpectation(caught, false))).toBe(false);
  });
});
