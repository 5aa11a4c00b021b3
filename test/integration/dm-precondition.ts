import { ensureTargets, kernelHasDeviceMapper } from '../../src/dm/index.js';

// Why the device-mapper integration tests cannot run here, or undefined when they can.
// Inside the microVM, scripts/test-integration.sh sets POWERCUT_REQUIRE_DM=1: there a missing
// target is a broken VM, and the tests must fail, not skip.
export async function dmUnavailable(targets: readonly string[]): Promise<string | undefined> {
  let why: string | undefined;
  if (process.getuid?.() !== 0) why = 'requires root';
  else if (!kernelHasDeviceMapper()) why = 'kernel has no device-mapper; run via scripts/test-integration.sh';
  else {
    try {
      const { missing } = await ensureTargets(targets);
      if (missing.length > 0) why = `kernel lacks dm-${missing.join(', dm-')}`;
    } catch (err) {
      why = `dmsetup failed: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  if (why && process.env.POWERCUT_REQUIRE_DM === '1') throw new Error(`device-mapper required (POWERCUT_REQUIRE_DM=1) but ${why}`);
  return why;
}
