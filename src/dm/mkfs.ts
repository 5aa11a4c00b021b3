import { DeviceError } from './device-error.js';
import type { FsType } from './mount.js';
import { runTool } from './tool.js';

export interface MkfsOptions {
  fs: FsType;
  /** Filesystem label (-L). */
  label?: string;
  /** Extra arguments passed to mkfs.<fs> before the device, e.g. ['-b', '4096'] or ['-O', '^has_journal']. */
  extraArgs?: readonly string[];
}

// Label length limits of each mkfs: a longer label is an argument error, not a tool failure later.
const LABEL_MAX: Record<FsType, number> = { ext4: 16, xfs: 12, btrfs: 255 };

// Command and arguments for making a filesystem; pure so it can be tested without root.
// -F / -f: the device is our own fresh loop or dm device and may hold an old signature from a
// previous trial; forcing is what makes a re-run deterministic. -q keeps logs quiet.
export function mkfsCommand(device: string, opts: MkfsOptions): { command: string; args: string[] } {
  const args: string[] = [];
  switch (opts.fs) {
    case 'ext4':
      args.push('-F', '-q');
      break;
    case 'xfs':
      args.push('-f', '-q');
      break;
    case 'btrfs':
      args.push('-f', '-q');
      break;
    default: {
      const never: never = opts.fs;
      throw new DeviceError('BAD_ARGUMENT', `unknown filesystem ${String(never)}`);
    }
  }
  if (opts.label !== undefined) {
    if (opts.label.length === 0 || opts.label.length > LABEL_MAX[opts.fs] || /\s/.test(opts.label)) {
      throw new DeviceError('BAD_ARGUMENT', `label ${JSON.stringify(opts.label)}: ${opts.fs} takes 1-${LABEL_MAX[opts.fs]} characters, no whitespace`);
    }
    args.push('-L', opts.label);
  }
  args.push(...(opts.extraArgs ?? []), device);
  return { command: `mkfs.${opts.fs}`, args };
}

// Makes a filesystem on a device. Call it only on a device the guard has cleared (DeviceLab does).
export async function mkfs(device: string, opts: MkfsOptions): Promise<void> {
  const { command, args } = mkfsCommand(device, opts);
  await runTool(command, args);
}
