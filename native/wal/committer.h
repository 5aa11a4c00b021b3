// Durability strategies and group commit: the committer thread (and, for `periodic`, the syncer
// thread). The committer is the only thread that writes entries or rotates segments.
//
// Per strategy, what one "unit" is and what acknowledging it waits for:
//   fsync / fdatasync / dsync / direct, groupCommit off: a unit is ONE entry: write it, sync it
//     (fsync / fdatasync / nothing because of O_DSYNC / fdatasync after an O_DIRECT write), ack.
//   the same with groupCommit on: a unit is everything staged since the last unit, written with one
//     pwrite and synced once for every waiting appender (leader/follower as in OkayWAL, PostgreSQL).
//   periodic / none: a unit is everything staged; ack after the write. periodic's syncer thread
//     fdatasyncs every period_ms and publishes the durable watermark.
// A failed write or sync fails the log (fsyncgate): the committer never retries, never acks again.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "log.h"

namespace powercut::wal {

class Committer {
 public:
  explicit Committer(Log& log);
  ~Committer();
  void Start();
  // Log::Close has set closing_: drains, final sync, joins both threads.
  void Join();
  // Segment the committer writes to; set before Start and then owned by the committer thread.
  void SetActive(std::shared_ptr<Segment> seg) { active_ = std::move(seg); }

 private:
  void Run();
  void SyncerRun();
  bool SyncsEveryAck() const;
  // Writes a staged batch (no sync); sets *last to its last seq. Clears the batch.
  Status WriteBatch(ByteBuffer& batch, uint64_t first, uint64_t* last);
  // Group commit: takes entries staged but not yet released, if any.
  bool TakeUnreleased(ByteBuffer& batch, uint64_t* first);
  // Writes entries [data, data+len) starting with `seq`, rotating segments as needed.
  Status WriteEntries(const uint8_t* data, size_t len, uint64_t seq);
  // One write of whole entries at active_->end (direct: through the aligned bounce buffer, padded).
  Status WriteRun(const uint8_t* data, size_t len);
  // The strategy's sync of the active segment after a unit (no-op for dsync, periodic, none).
  Status SyncActive();
  Status Rotate(uint64_t next_seq);
  void MaybeWantSpare();

  Log& log_;
  std::shared_ptr<Segment> active_;
  uint64_t run_written_from_ = 0;  // offset where the current unit's writes began (sync_file_range)
  std::vector<uint32_t> run_offsets_;
  uint8_t* bounce_ = nullptr;  // O_DIRECT staging, block-aligned
  size_t bounce_cap_ = 0;
  bool spare_asked_ = false;
  std::thread thread_;
  std::thread syncer_;
  std::mutex syncer_mu_;
  std::condition_variable syncer_cv_;
  bool syncer_stop_ = false;
};

}  // namespace powercut::wal
