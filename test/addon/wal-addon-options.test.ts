// The addon refuses a strategy or preallocation it does not know (issue 11) instead of turning it
// into a default: a string the TS layer let through by mistake must never change what is synced.
import { describe, expect, it } from 'vitest';
import { nativeModule, resolveOptions } from '../../src/wal/index.js';
import { tempDirs } from './wal-fixture.js';

const dir = tempDirs();

async function codeOf(f: () => Promise<unknown>): Promise<unknown> {
  try {
    await f();
    return undefined;
  } catch (e) {
    return (e as { code?: unknown }).code;
  }
}

describe('addon option parsing', () => {
  it('UnknownStrategyRefused: an unknown strategy is WAL_INVALID_ARGUMENT, not fdatasync', async () => {
    const opts = { ...resolveOptions({ segmentSize: 65536 }), strategy: 'fdatasyncc' } as unknown as ReturnType<typeof resolveOptions>;
    expect(await codeOf(() => nativeModule().open(dir(), opts))).toBe('WAL_INVALID_ARGUMENT');
  });

  it('UnknownPreallocationRefused: an unknown preallocation is WAL_INVALID_ARGUMENT, not zero', async () => {
    const opts = { ...resolveOptions({ segmentSize: 65536 }), preallocate: 'zeros' } as unknown as ReturnType<typeof resolveOptions>;
    expect(await codeOf(() => nativeModule().open(dir(), opts))).toBe('WAL_INVALID_ARGUMENT');
  });

  it('every strategy and preallocation the TS layer knows opens', async () => {
    for (const strategy of ['fsync', 'fdatasync', 'dsync', 'direct', 'periodic', 'none'] as const) {
      for (const preallocate of ['none', 'fallocate', 'zero'] as const) {
        const native = await nativeModule().open(dir(), resolveOptions({ segmentSize: 65536, strategy, preallocate }));
        await native.close();
      }
    }
  });
});
