#include "publish-marks.h"

#include <memory>

namespace powercut::dm {

wal::Status MarkPublisher::Open(const std::string& dm_name, const std::string& control,
                                std::shared_ptr<wal::PublishHook>* out) {
  std::shared_ptr<MarkPublisher> p(new MarkPublisher(dm_name));
  DmResult r = p->control_.Open(control);
  if (!r.ok()) {
    wal::Status s = wal::Status::FromErrno(r.err, "open", control);
    s.message = "publishMarks: " + r.message;
    return s;
  }
  *out = std::move(p);
  return wal::Status::Ok();
}

std::string MarkPublisher::Label(Kind kind, uint64_t seq) {
  return (kind == Kind::kAcked ? "ack-" : "durable-") + std::to_string(seq);
}

wal::Status MarkPublisher::Published(Kind kind, uint64_t seq) {
  const std::string label = Label(kind, seq);
  std::lock_guard<std::mutex> lk(mu_);
  DmResult r = control_.Message(dm_name_, "mark " + label);
  if (r.ok()) return wal::Status::Ok();
  wal::Status s = wal::Status::FromErrno(r.err, "ioctl", dm_name_);
  s.message = "publishMarks: " + r.message + " (the recording would miss the promise " + label + ")";
  return s;
}

}  // namespace powercut::dm
