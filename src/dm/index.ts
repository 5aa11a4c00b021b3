export { DeviceError, type DeviceErrorCode } from './device-error.js';
export { CleanupStack, withCleanup, reapOrphans, orphanLedgers, ledgerDir, type Registration, type ReapedLedger } from './cleanup-stack.js';
export { type Resource, describeResource, processStartTime } from './resource.js';
export {
  DeviceLab,
  withDeviceLab,
  checkImageName,
  FlakeyDevice,
  LogWritesDevice,
  DM_NAME_PREFIX,
  LAB_DIR_PREFIX,
  type DeviceLabOptions,
} from './device-lab.js';
export { guardDevice, deviceInUse, type RealDeviceConsent, type GuardContext } from './device-guard.js';
export { attachLoop, detachLoop, listLoops, loopsOf, losetupAttachArgs, parseLoopList, type LoopOptions, type LoopDevice } from './losetup.js';
export { mkfs, mkfsCommand, type MkfsOptions } from './mkfs.js';
export { mount, umount, mountArgs, isMountPoint, mountPointsOf, type FsType, type MountOptions } from './mount.js';
export { parseMountInfo, readMountTable, type MountEntry } from './mountinfo.js';
export { deviceSectors } from './blockdev.js';
export { formatTable, checkDmName, mapperPath, linearTable, type DmTableLine } from './dm-table.js';
export {
  dmCreate,
  dmLoad,
  dmSuspend,
  dmSuspendArgs,
  dmResume,
  dmResumeIfSuspended,
  dmRemove,
  dmMessage,
  dmStatus,
  dmTable,
  dmTargets,
  dmInfo,
  dmList,
  kernelHasDeviceMapper,
  ensureTargets,
  parseTargets,
  parseTableText,
  parseDmInfo,
  type DmTarget,
  type DmDeviceInfo,
  type SuspendOptions,
} from './dmsetup.js';
export {
  flakeyFeatureSupported,
  flakeyTable,
  flakeyPassThroughTable,
  flakeyFaultTable,
  regionFaultTable,
  swapFlakeyTable,
  type FaultMode,
  type FlakeyFeature,
  type FlakeyTableOptions,
} from './flakey.js';
export { logWritesTable, logWritesMark, logWritesStatus, parseLogWritesStatus, checkMarkLabel, markMessage, type LogWritesStatus } from './log-writes/table.js';
export { findLeftovers, type Leftovers } from './leftovers.js';
export { fileExtents, parseFilefrag, mergeRanges, type SectorRange } from './file-extents.js';
export { FS_VARIANTS, FS_VARIANT_NAMES, isFsVariant, type FsVariant, type FsVariantName } from './fs-variant.js';
export { fsckBeforeMount, fsckVerdict, describeFsck, type FsckReport, type FsckRun } from './fsck.js';
