import { JOB_TAG, ROOT_TAG } from './guest-init.js';

export interface QemuConfig {
  vmlinuz: string;
  initramfs: string;
  jobDir: string;
  /** Host directories shared read-write, mounted at the same path in the guest (tags share0..). */
  shares: readonly string[];
  memoryMb: number;
  cpus: number;
}

export const QEMU = 'qemu-system-x86_64';

// The kernel command line. quiet + loglevel=1 keep kernel chatter off the console that carries
// the command's output; panic=-1 with -no-reboot turns a guest panic into a qemu exit instead of
// a hang.
export const KERNEL_CMDLINE = 'console=ttyS0 quiet loglevel=1 panic=-1 rdinit=/init 8250.nr_uarts=1 random.trust_cpu=on tsc=reliable no_timer_check';

// qemu arguments. TCG, not KVM: /dev/kvm on these machines is PVM-only and a stock kernel hangs
// on it (ENVIRONMENT.md). -nodefaults: no NIC, VGA or floppy to probe, which saves boot time.
export function qemuArgs(c: QemuConfig): string[] {
  const args = [
    '-accel',
    'tcg,thread=multi',
    '-cpu',
    'max',
    '-smp',
    String(c.cpus),
    '-m',
    String(c.memoryMb),
    '-nodefaults',
    '-no-user-config',
    '-no-reboot',
    '-display',
    'none',
    '-monitor',
    'none',
    '-serial',
    'stdio',
    '-kernel',
    c.vmlinuz,
    '-initrd',
    c.initramfs,
    '-append',
    KERNEL_CMDLINE,
    '-device',
    'virtio-rng-pci',
    // multidevs=remap: the host's / spans several filesystems; without it inode numbers collide.
    '-virtfs',
    `local,path=/,mount_tag=${ROOT_TAG},security_model=none,readonly=on,multidevs=remap`,
    '-virtfs',
    `local,path=${c.jobDir},mount_tag=${JOB_TAG},security_model=none,multidevs=remap`,
  ];
  c.shares.forEach((path, i) => args.push('-virtfs', `local,path=${path},mount_tag=share${i},security_model=none,multidevs=remap`));
  return args;
}
