import type { FsType } from './mount.js';

// The filesystems the crash harness (and the bench's loop images) can put under the WAL: a
// filesystem type, how it is made and mounted, and whether a mount after a power cut needs fsck
// first. One table, so `crashtest --fs`, `fuzz --fs`, recordings and `bench --fs` agree.
export const FS_VARIANT_NAMES = ['ext4', 'ext4-nojournal', 'xfs', 'btrfs', 'btrfs-nodatacow'] as const;
export type FsVariantName = (typeof FS_VARIANT_NAMES)[number];

export interface FsVariant {
  fs: FsType;
  /** Passed to mkfs.<fs> before the device. */
  mkfsArgs: readonly string[];
  /** Passed to mount -o. */
  mountOptions: readonly string[];
  /**
   * Without a journal nothing replays the metadata at mount: a mount after a power cut must be
   * preceded by fsck, as a boot would (e2fsck -p), or the filesystem runs on inconsistent metadata.
   */
  fsckAfterCut: boolean;
  why: string;
}

export const FS_VARIANTS: Record<FsVariantName, FsVariant> = {
  ext4: { fs: 'ext4', mkfsArgs: [], mountOptions: [], fsckAfterCut: false, why: 'ext4 defaults (data=ordered, journalled metadata)' },
  'ext4-nojournal': {
    fs: 'ext4',
    mkfsArgs: ['-O', '^has_journal'],
    mountOptions: [],
    fsckAfterCut: true,
    why: 'ext4 made without a journal (mkfs.ext4 -O ^has_journal): metadata written in place, e2fsck repairs after a cut',
  },
  xfs: { fs: 'xfs', mkfsArgs: [], mountOptions: [], fsckAfterCut: false, why: 'xfs defaults' },
  btrfs: { fs: 'btrfs', mkfsArgs: [], mountOptions: [], fsckAfterCut: false, why: 'btrfs defaults (copy-on-write, log tree for fsync)' },
  // The mount option rather than chattr +C on the WAL directory: every directory a cell or trial
  // makes is covered without the harness touching each, and the choice shows in mountinfo (so in
  // results.json and the report), where a per-inode flag would not.
  'btrfs-nodatacow': {
    fs: 'btrfs',
    mkfsArgs: [],
    mountOptions: ['nodatacow'],
    fsckAfterCut: false,
    why: 'btrfs mounted -o nodatacow: data overwritten in place, no data checksums (metadata still copy-on-write)',
  },
};

export function isFsVariant(name: string): name is FsVariantName {
  return (FS_VARIANT_NAMES as readonly string[]).includes(name);
}
