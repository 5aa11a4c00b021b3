import { DeviceError } from './device-error.js';
import { runTool } from './tool.js';

export interface LoopOptions {
  readOnly?: boolean;
  /** Open the backing file with O_DIRECT, so the page cache of the image does not hide flushes. */
  directIo?: boolean;
  /** Logical sector size of the loop device (512, 1024, 2048 or 4096). */
  sectorSize?: 512 | 1024 | 2048 | 4096;
}

// Arguments for attaching an image to the first free loop device; pure for tests without root.
export function losetupAttachArgs(imagePath: string, opts: LoopOptions = {}): string[] {
  const args = ['--find', '--show'];
  if (opts.readOnly) args.push('--read-only');
  if (opts.directIo) args.push('--direct-io=on');
  if (opts.sectorSize !== undefined) args.push('--sector-size', String(opts.sectorSize));
  args.push(imagePath);
  return args;
}

// Attaches an image file to a free loop device and returns the device path (/dev/loopN).
export async function attachLoop(imagePath: string, opts: LoopOptions = {}): Promise<string> {
  const { stdout } = await runTool('losetup', losetupAttachArgs(imagePath, opts));
  const device = stdout.trim();
  if (!/^\/dev\/loop\d+$/.test(device)) {
    throw new DeviceError('PARSE_FAILED', `losetup printed ${JSON.stringify(device)}, expected /dev/loopN`);
  }
  return device;
}

// Detaches a loop device. If it is still open (a lingering holder), the kernel sets autoclear
// and frees it on last close, which is what teardown wants.
export async function detachLoop(device: string): Promise<void> {
  await runTool('losetup', ['--detach', device]);
}

export interface LoopDevice {
  device: string;
  /** The backing file as the kernel reports it; " (deleted)" stripped. */
  backingFile: string;
}

// Parses `losetup --list --json --output NAME,BACK-FILE`.
export function parseLoopList(json: string): LoopDevice[] {
  if (json.trim() === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new DeviceError('PARSE_FAILED', 'losetup --json printed something that is not JSON', { cause: err });
  }
  const list = (parsed as { loopdevices?: unknown }).loopdevices;
  if (!Array.isArray(list)) throw new DeviceError('PARSE_FAILED', 'losetup --json has no loopdevices array');
  return list.map((row: Record<string, unknown>) => ({
    device: typeof row.name === 'string' ? row.name : '',
    backingFile: (typeof row['back-file'] === 'string' ? row['back-file'] : '').replace(/ \(deleted\)$/, ''),
  }));
}

// All attached loop devices with their backing files.
export async function listLoops(): Promise<LoopDevice[]> {
  const { stdout } = await runTool('losetup', ['--list', '--json', '--output', 'NAME,BACK-FILE']);
  return parseLoopList(stdout);
}

// The loop devices backed by this file (an image may be attached more than once).
export async function loopsOf(imagePath: string): Promise<string[]> {
  return (await listLoops()).filter((l) => l.backingFile === imagePath).map((l) => l.device);
}
