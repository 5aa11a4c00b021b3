// Sends a message to a device-mapper target through the DM_TARGET_MSG ioctl on /dev/mapper/control,
// the call `dmsetup message NAME 0 MSG` makes, without a process per message. dm-log-writes takes
// `mark <label>` this way; a mark per acknowledgement through dmsetup costs ~120 ms under TCG.
//
// Plain C++ and Linux headers only: no Node include here (the addon glue is addon/dm-message.cc).
// Thread: any; one DmControl must not be used by two threads at once (it owns one buffer).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace powercut::dm {

// Result of one call: errno 0 on success; otherwise errno and a message naming the device.
struct DmResult {
  int err = 0;
  std::string message;
  bool ok() const { return err == 0; }
};

class DmControl {
 public:
  DmControl() = default;
  ~DmControl();
  DmControl(const DmControl&) = delete;
  DmControl& operator=(const DmControl&) = delete;

  // Opens /dev/mapper/control (or `path`, for tests).
  DmResult Open(const std::string& path = "/dev/mapper/control");
  // Sends `message` to sector 0 of the device named `name` (a dm name, not a path).
  // The caller has checked: name shorter than DM_NAME_LEN, message without NUL bytes.
  DmResult Message(const std::string& name, const std::string& message);
  void Close();
  bool is_open() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
  std::vector<unsigned char> buffer_;
};

}  // namespace powercut::dm
