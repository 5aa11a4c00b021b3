export { VmError, type VmErrorCode } from './vm-error.js';
export { vmCacheDir, readManifest, type VmManifest } from './vm-cache.js';
export { prepareVm, initramfsIsCurrent, type PrepareOptions, type PrepareResult } from './prepare.js';
export { runInVm, guestEnv, type VmRunOptions, type VmRunResult } from './vm-run.js';
export { qemuArgs, QEMU, KERNEL_CMDLINE, type QemuConfig } from './qemu-args.js';
export { initScript, jobScript, guestConf, shellQuote, BEGIN_MARK, END_MARK, type GuestJob } from './guest-init.js';
export { GUEST_MODULES, parseShowDepends } from './initramfs.js';
export { parseKernelDependency, resolveKernelPackage } from './kernel-package.js';
