// A hook on the moment the log publishes a promise, for crash testing (issue 12): a recording of
// the device (dm-log-writes) must hold the promise's mark before anything could learn of it, so
// that a promise published before its sync completed always leaves a crash state that shows it.
// The core knows nothing of device-mapper: the addon supplies the implementation (native/dm).
//
// Thread: Published runs on whichever thread publishes (committer, syncer, group commit's sync
// threads), with the log's lock held and before the new watermark is visible to any caller, in
// publication order. It must be quick (an ioctl that queues a mark: microseconds) and must not
// call back into the log.
#pragma once

#include <cstdint>

#include "status.h"

namespace powercut::wal {

class PublishHook {
 public:
  enum class Kind {
    kAcked,    // every seq <= `seq` meets the strategy's acknowledgement condition
    kDurable,  // every seq <= `seq` is durable (the durable watermark)
  };
  virtual ~PublishHook() = default;
  // A failure fails the log (Log::Failure says why) and the promise is not published: a recording
  // missing a mark would judge the crash states after it wrongly.
  virtual Status Published(Kind kind, uint64_t seq) = 0;
};

}  // namespace powercut::wal
