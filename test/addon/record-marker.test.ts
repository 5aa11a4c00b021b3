import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openMarker } from '../../src/crash/record/marker.js';
import { CrashError } from '../../src/crash/crash-error.js';

// The ioctl path runs for real against a control device that is not device-mapper's (/dev/null
// answers DM_TARGET_MSG with ENOTTY): the addon must turn the kernel's refusal into MARK_FAILED
// with errno's words, and refuse a bad label before any call. The successful path needs
// device-mapper and is tested in the microVM (test/integration/log-writes-record-writer.test.ts).

const addon = join(import.meta.dirname, '../../native/build/Release/powercut_dm.node');
const missing = existsSync(addon) ? undefined : `requires the native addon ${addon} (pnpm build:native)`;

async function failure(fn: () => unknown): Promise<CrashError> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof CrashError) return error;
    throw error;
  }
  throw new Error('expected a CrashError');
}

describe.skipIf(missing !== undefined)(`record marker, ioctl path${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('reports the kernel refusing DM_TARGET_MSG as MARK_FAILED with the errno text', async () => {
    const marker = openMarker('powercut-none', 'ioctl', '/dev/null');
    const error = await failure(() => marker.mark('ack-1'));
    expect(error.code).toBe('MARK_FAILED');
    expect(error.message).toMatch(/DM_TARGET_MSG to powercut-none \(mark ack-1\): Inappropriate ioctl/);
    const stats = await marker.close();
    expect(stats).toMatchObject({ method: 'ioctl', marks: 0 });
  });

  it('says NO_DEVICE_MAPPER when the control device cannot be opened', async () => {
    const error = await failure(() => openMarker('powercut-none', 'ioctl', '/nonexistent/mapper/control'));
    expect(error.code).toBe('NO_DEVICE_MAPPER');
  });

  it('refuses a label with whitespace before calling the kernel', async () => {
    const marker = openMarker('powercut-none', 'ioctl', '/dev/null');
    expect(() => marker.mark('ack 1')).toThrow(/no whitespace/);
    await marker.close();
  });
});

describe('record marker, dmsetup path', () => {
  it('surfaces a failed `dmsetup message` at close, not silently', async () => {
    const marker = openMarker(`powercut-absent-${process.pid}`, 'dmsetup');
    marker.mark('ack-1');
    const error = await failure(() => marker.close());
    expect(error.code).toBe('MARK_FAILED');
  });
});
