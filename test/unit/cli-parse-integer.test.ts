import { describe, expect, it } from 'vitest';
import { parseInteger, parseSeconds } from '../../src/cli/parse-args.js';

// The one integer reader of every CLI (issue 13: `fuzz --recordings 99999999999999999999` was
// accepted and spun; --runs and --trials had their own copies of the same loose check).
describe('parseInteger', () => {
  it('HugeValueIsRefusedWithTheStatedBound', () => {
    expect(parseInteger('--recordings', '99999999999999999999', 1, 1000)).toEqual({
      ok: false,
      message: '--recordings must be a whole number from 1 to 1000, got "99999999999999999999"',
    });
  });

  it.each(['', '-1', '+3', '1.5', '1e3', '0x10', ' 7', 'abc', '9007199254740993'])('RefusesNonDigits: %j', (text) => {
    expect(parseInteger('--runs', text, 0, Number.MAX_SAFE_INTEGER).ok).toBe(false);
  });

  it('TakesTheBoundsThemselves', () => {
    expect(parseInteger('--runs', '1', 1, 10)).toEqual({ ok: true, value: 1 });
    expect(parseInteger('--runs', '10', 1, 10)).toEqual({ ok: true, value: 10 });
    expect(parseInteger('--runs', '0', 1, 10).ok).toBe(false);
    expect(parseInteger('--runs', '11', 1, 10).ok).toBe(false);
  });
});

describe('parseSeconds', () => {
  it('DecimalsWithinTheBounds', () => {
    expect(parseSeconds('--timeout', '1.5', 1, 60)).toEqual({ ok: true, value: 1.5 });
    expect(parseSeconds('--timeout', '99999999999', 1, 60).ok).toBe(false);
    expect(parseSeconds('--timeout', '-2', 1, 60).ok).toBe(false);
  });
});
