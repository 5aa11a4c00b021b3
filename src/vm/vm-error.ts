// The one error family of the microVM: what is missing or went wrong, with the cause kept.
export type VmErrorCode =
  | 'QEMU_MISSING' // qemu-system-x86_64 is not installed
  | 'NOT_PREPARED' // no cached kernel/initramfs: run `pnpm vm --prepare` (or `pnpm doctor --fix`)
  | 'PREPARE_FAILED' // resolving, downloading or unpacking the kernel, or building the initramfs
  | 'BOOT_FAILED' // the guest never reached the command (kernel panic, missing module, 9p)
  | 'TIMEOUT' // the command inside ran past the time limit; the VM was killed
  | 'INTERRUPTED' // the harness got a signal; the VM was killed
  | 'ABORTED' // the caller's AbortSignal fired (it had what it needed); the VM was killed
  | 'BAD_ARGUMENT';

export class VmError extends Error {
  override readonly name = 'VmError';
  constructor(
    readonly code: VmErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
