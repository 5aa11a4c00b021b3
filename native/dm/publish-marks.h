// The WAL core's PublishHook (native/wal/publish_hook.h) as dm-log-writes marks: every promise the
// log publishes becomes `mark ack-<seq>` or `mark durable-<seq>` in the device's log, sent with the
// DM_TARGET_MSG ioctl from the publishing thread before the promise is visible (issue 12).
// The label grammar is the one the JS writer uses (src/workload/events.ts, markLabel):
//   label   = "ack-" seq | "durable-" seq        ; seq = decimal, no leading zeros, >= 1
//   ack-N     every seq <= N met the strategy's acknowledgement condition
//   durable-N every seq <= N is durable (the durable watermark)
// One mark per publication, for the highest seq it covers: group commit's unit of 64 appends is
// one `ack-N`, not 64 marks.
// Plain C++ and Linux headers: no Node include.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "../wal/publish_hook.h"
#include "dm-message.h"

namespace powercut::dm {

class MarkPublisher : public wal::PublishHook {
 public:
  // Opens `control` (normally /dev/mapper/control) for marks to the dm device named `dm_name`.
  static wal::Status Open(const std::string& dm_name, const std::string& control, std::shared_ptr<wal::PublishHook>* out);
  wal::Status Published(Kind kind, uint64_t seq) override;
  static std::string Label(Kind kind, uint64_t seq);

 private:
  explicit MarkPublisher(std::string dm_name) : dm_name_(std::move(dm_name)) {}
  const std::string dm_name_;
  std::mutex mu_;  // DmControl owns one buffer; the log's lock already orders callers, this is belt
  DmControl control_;
};

}  // namespace powercut::dm
