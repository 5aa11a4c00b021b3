// The committer's view of the log it commits for (committer.h); Log implements it. Its own header
// so that log.h can implement it without including the committer.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "segment.h"
#include "status.h"

namespace powercut::wal {

// What the committer needs of the log it commits for; Log implements it. Each call takes the log's
// own lock (never the staging lock: the committer may hold that one while it calls in).
class CommitTarget {
 public:
  // Publishes acknowledgement / durable watermarks (monotonic maxima; nothing after a failure).
  virtual void Publish(uint64_t acked, uint64_t durable) = 0;
  virtual void Fail(const Status& s) = 0;
  // Entries at `offsets` of `seg` were written, the last of them `last_seq`.
  virtual void Written(Segment& seg, const std::vector<uint32_t>& offsets, uint64_t last_seq) = 0;
  // A new active segment (rotation).
  virtual void Rotated(std::shared_ptr<Segment> seg) = 0;
  // The segment being written and the seq written so far, read together (false once failed).
  virtual bool WriteSnapshot(std::shared_ptr<Segment>* seg, uint64_t* written) = 0;
  virtual uint64_t durable_seq() = 0;

 protected:
  ~CommitTarget() = default;
};

}  // namespace powercut::wal
