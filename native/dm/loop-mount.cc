#include "loop-mount.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

namespace powercut::dm {

namespace {

// A descriptor closed on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

LoopMountResult Failure(int err, const std::string& what, const std::string& device = "") {
  return {err, what + ": " + std::strerror(err), device};
}

// Configures the loop device open on `loop` to read and write `image_fd`, autoclear on.
// LOOP_CONFIGURE (Linux 5.8) does it in one call; older kernels take SET_FD + SET_STATUS64.
int Configure(int loop, int image_fd, const std::string& image) {
  struct loop_config config;
  std::memset(&config, 0, sizeof config);
  config.fd = static_cast<unsigned>(image_fd);
  config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
  std::strncpy(reinterpret_cast<char*>(config.info.lo_file_name), image.c_str(), LO_NAME_SIZE - 1);
  if (::ioctl(loop, LOOP_CONFIGURE, &config) == 0) return 0;
  if (errno != EINVAL && errno != ENOTTY) return errno;
  if (::ioctl(loop, LOOP_SET_FD, image_fd) != 0) return errno;
  if (::ioctl(loop, LOOP_SET_STATUS64, &config.info) != 0) {
    int e = errno;
    ::ioctl(loop, LOOP_CLR_FD, 0);
    return e;
  }
  return 0;
}

}  // namespace

LoopMountResult LoopMount(const std::string& image, const std::string& target, const std::string& fstype, const std::string& data) {
  Fd image_fd(::open(image.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
  if (image_fd.get() < 0) return Failure(errno, "cannot open image " + image);
  Fd control(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (control.get() < 0) return Failure(errno, "cannot open /dev/loop-control");
  // Another process may take the free device between GET_FREE and CONFIGURE (EBUSY): ask again.
  for (int attempt = 0; attempt < 32; attempt++) {
    int number = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
    if (number < 0) return Failure(errno, "no free loop device");
    std::string device = "/dev/loop" + std::to_string(number);
    Fd loop(::open(device.c_str(), O_RDWR | O_CLOEXEC));
    if (loop.get() < 0) {
      if (errno == ENOENT || errno == ENXIO) continue;
      return Failure(errno, "cannot open " + device);
    }
    int err = Configure(loop.get(), image_fd.get(), image);
    if (err == EBUSY) continue;
    if (err != 0) return Failure(err, "cannot attach " + image + " to " + device, device);
    image_fd.Reset();
    if (::mount(device.c_str(), target.c_str(), fstype.c_str(), 0, data.empty() ? nullptr : data.c_str()) != 0) {
      return Failure(errno, "cannot mount " + device + " (" + image + ") on " + target + " as " + fstype, device);
    }
    // The filesystem holds the device now; closing ours makes the unmount its last close.
    return {0, "", device};
  }
  return Failure(EBUSY, "every free loop device was taken by another process before we could attach " + image);
}

LoopMountResult Unmount(const std::string& target) {
  if (::umount2(target.c_str(), 0) != 0) return Failure(errno, "cannot unmount " + target);
  return {};
}

}  // namespace powercut::dm

#include <sys/mman.h>

namespace powercut::dm {

namespace {

// A read-only or shared mapping released on every path out.
class Mapping {
 public:
  Mapping(int fd, long long size, int prot) : size_(static_cast<size_t>(size)) {
    void* p = size_ == 0 ? MAP_FAILED : ::mmap(nullptr, size_, prot, MAP_SHARED, fd, 0);
    data_ = p == MAP_FAILED ? nullptr : static_cast<unsigned char*>(p);
  }
  ~Mapping() {
    if (data_ != nullptr) ::munmap(data_, size_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  unsigned char* data() const { return data_; }

 private:
  size_t size_;
  unsigned char* data_ = nullptr;
};

}  // namespace

RestoreResult RestoreFromBase(int base_fd, int image_fd, long long size, long long block_bytes, const unsigned char* dirty, long long dirty_len) {
  RestoreResult result;
  if (size <= 0 || block_bytes <= 0 || dirty_len * block_bytes < size) {
    result.err = EINVAL;
    result.message = "bad image geometry";
    return result;
  }
  Mapping base(base_fd, size, PROT_READ);
  Mapping image(image_fd, size, PROT_READ | PROT_WRITE);
  if (base.data() == nullptr || image.data() == nullptr) {
    result.err = errno;
    result.message = std::string("cannot map the images: ") + std::strerror(result.err);
    return result;
  }
  // Every block the base may hold data in: compared, and rewritten where the image differs
  // (reading a hole of the image through the mapping gives zeros, writing it allocates).
  long long blocks = (size + block_bytes - 1) / block_bytes;
  for (long long b = 0; b < blocks; b++) {
    if (dirty[b] == 0) continue;
    long long off = b * block_bytes;
    size_t len = static_cast<size_t>(std::min(block_bytes, size - off));
    result.compared++;
    if (std::memcmp(image.data() + off, base.data() + off, len) != 0) {
      std::memcpy(image.data() + off, base.data() + off, len);
      result.copied++;
    }
  }
  // Every other block the image holds data in: the base is a hole there, so the image must be.
  for (off_t at = 0; at < size;) {
    off_t data = ::lseek(image_fd, at, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // no data after `at`: the rest is holes
      result.err = errno;
      result.message = std::string("SEEK_DATA: ") + std::strerror(result.err);
      return result;
    }
    off_t hole = ::lseek(image_fd, data, SEEK_HOLE);
    if (hole < 0 || hole > size) hole = size;
    long long end = (static_cast<long long>(hole) + block_bytes - 1) / block_bytes;
    for (long long b = data / block_bytes; b < end; b++) {
      if (dirty[b] != 0) continue;
      long long off = b * block_bytes;
      if (::fallocate(image_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, std::min(block_bytes, size - off)) != 0) {
        result.err = errno;
        result.message = std::string("cannot punch a hole: ") + std::strerror(result.err);
        return result;
      }
      result.punched++;
    }
    at = static_cast<off_t>(end * block_bytes);
  }
  return result;
}

}  // namespace powercut::dm
