// The one error family of the device layer (loop, dm, mkfs, mount, cleanup). A caller branches on
// `code`; the tool's own words are in `message`, the underlying RunError (if any) in `cause`.
export type DeviceErrorCode =
  | 'NOT_ROOT' // the operation needs root and we are not
  | 'UNSAFE_DEVICE' // a real block device without the explicit option + confirmation
  | 'DEVICE_IN_USE' // mounted, swap, or held by another device
  | 'NOT_OWNED' // a loop device whose backing file we did not create
  | 'BAD_ARGUMENT' // an option or table that cannot be right
  | 'TARGET_MISSING' // the kernel lacks a device-mapper target (dm-flakey, dm-log-writes, ...)
  | 'TOOL_FAILED' // dmsetup/losetup/mkfs/mount failed; the tool's stderr is in the message
  | 'PARSE_FAILED' // a tool printed something we could not read
  | 'CLEANUP_FAILED'; // one or more resources could not be released

export class DeviceError extends Error {
  override readonly name = 'DeviceError';
  constructor(
    readonly code: DeviceErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
