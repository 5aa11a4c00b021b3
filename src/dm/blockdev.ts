import { DeviceError } from './device-error.js';
import { runTool } from './tool.js';

// Size of a block device in 512-byte sectors, the unit of every device-mapper table.
export async function deviceSectors(device: string): Promise<number> {
  const { stdout } = await runTool('blockdev', ['--getsz', device]);
  const n = Number(stdout.trim());
  if (!Number.isSafeInteger(n) || n <= 0) throw new DeviceError('PARSE_FAILED', `blockdev --getsz ${device} printed ${JSON.stringify(stdout)}`);
  return n;
}
