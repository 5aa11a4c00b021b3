// Mounts an image file through a loop device, and unmounts it, with the syscalls mount(8) makes
// (LOOP_CTL_GET_FREE, LOOP_CONFIGURE with autoclear, mount(2), umount2(2)) and no process per
// call: crash-state checking mounts every state, and a `mount -o loop` + `umount` pair run as
// tools cost ~40 ms of process start-up per state where the syscalls take ~2 ms.
//
// The loop device is attached with LO_FLAGS_AUTOCLEAR and our own descriptor of it is closed
// once the filesystem holds it, so the unmount is its last close: the kernel then drops the
// device's page cache (blkdev_flush_mapping on the last close) and detaches the loop. Nothing of
// one mounted image can be read through the next: every mount starts from a freshly configured
// device whose cache is empty.
//
// Plain C++ and Linux headers only: no Node include here (the addon glue is addon/loop-mount.cc).
// Thread: any; the calls share no state.
#pragma once

#include <string>

namespace powercut::dm {

struct LoopMountResult {
  int err = 0;
  std::string message;
  /** The loop device the image was attached to (/dev/loopN), also set when the mount failed. */
  std::string device;
  bool ok() const { return err == 0; }
};

// Attaches `image` (a regular file) to a free loop device and mounts it on `target` as `fstype`
// with mount data `data` (comma-separated options, may be empty). On failure the loop device is
// released again (autoclear on our last close).
LoopMountResult LoopMount(const std::string& image, const std::string& target, const std::string& fstype, const std::string& data);

// umount2(target, 0). EBUSY is returned as is (the caller decides whether to retry).
LoopMountResult Unmount(const std::string& target);

}  // namespace powercut::dm

namespace powercut::dm {

struct RestoreResult {
  int err = 0;
  std::string message;
  /** Blocks compared with the base, rewritten from it, and punched back to holes. */
  long long compared = 0, copied = 0, punched = 0;
  bool ok() const { return err == 0; }
};

// Makes the image file `image_fd` byte for byte equal to the base image `base_fd` (both
// `size` bytes, regular files on a filesystem with SEEK_DATA and hole punching, e.g. tmpfs), given
// `dirty`: one byte per `block_bytes` block, nonzero where the base may hold data (everywhere else
// the base is a hole and reads as zeros). Only blocks the image has allocated are looked at: a
// dirty one is compared with the base and rewritten when it differs, any other is punched out.
// This is how a state image is rebuilt from the previous state's image, whatever the kernel wrote
// to it while it was mounted, at the cost of reading it instead of copying the whole base.
RestoreResult RestoreFromBase(int base_fd, int image_fd, long long size, long long block_bytes, const unsigned char* dirty, long long dirty_len);

}  // namespace powercut::dm
