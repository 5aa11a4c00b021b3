#include "dm-message.h"

#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace powercut::dm {

// The ioctl's buffer: struct dm_ioctl, then struct dm_target_msg (a le64 sector) and the message
// with its NUL. data_start says where the payload begins, data_size how big the whole buffer is.
static_assert(sizeof(struct dm_ioctl) == 312, "struct dm_ioctl layout changed");
static_assert(sizeof(struct dm_target_msg) == 8, "struct dm_target_msg is one u64 sector");

DmControl::~DmControl() { Close(); }

DmResult DmControl::Open(const std::string& path) {
  Close();
  fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) {
    int e = errno;
    return {e, "cannot open " + path + ": " + std::strerror(e)};
  }
  return {};
}

void DmControl::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

DmResult DmControl::Message(const std::string& name, const std::string& message) {
  if (fd_ < 0) return {EBADF, "the device-mapper control device is not open"};
  if (name.size() >= DM_NAME_LEN) return {EINVAL, "dm name too long: " + name};
  const size_t header = sizeof(struct dm_ioctl);
  // Rounded up to 8 bytes: the kernel copies data_size bytes and the tail is zero padding.
  const size_t size = (header + sizeof(struct dm_target_msg) + message.size() + 1 + 7) & ~size_t{7};
  buffer_.assign(size, 0);
  auto* io = reinterpret_cast<struct dm_ioctl*>(buffer_.data());
  io->version[0] = DM_VERSION_MAJOR;
  io->version[1] = 0;
  io->version[2] = 0;
  io->data_size = static_cast<__u32>(size);
  io->data_start = static_cast<__u32>(header);
  std::memcpy(io->name, name.data(), name.size());
  auto* msg = reinterpret_cast<struct dm_target_msg*>(buffer_.data() + header);
  msg->sector = 0;
  std::memcpy(msg->message, message.data(), message.size());
  if (::ioctl(fd_, DM_TARGET_MSG, io) < 0) {
    int e = errno;
    return {e, "DM_TARGET_MSG to " + name + " (" + message + "): " + std::strerror(e)};
  }
  return {};
}

}  // namespace powercut::dm
