// The spare-segment pool: files prepared (preallocated, durable) ahead of rotation, and segments
// freed by truncate kept for reuse. One type owning its preparer thread, as etcd's file_pipeline
// does, so that neither the Log nor the committer holds any of its state.
//
// Threads: Adopt/SeeNumber during recovery (before Start); Take and Want on the committer thread;
// RecycleOrRemove on recovery's or Truncate's blocking-call thread; Prepare on the caller's thread
// (recovery) or the preparer thread (Loop). Everything is guarded by the pool's own mutex, never
// held across I/O.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "segment.h"
#include "status.h"

namespace powercut::wal {

class SparePool {
 public:
  struct Config {
    uint64_t segment_size = 64ull << 20;
    Preallocation preallocate = Preallocation::kZero;
    bool recycle = true;
    bool read_only = false;  // RecycleOrRemove leaves files alone; nothing is prepared
  };
  SparePool(std::string dir, const Config& config);
  ~SparePool();
  SparePool(const SparePool&) = delete;
  SparePool& operator=(const SparePool&) = delete;

  // Recovery, before Start: a ready spare found in the directory; a spare number seen there (new
  // spares are numbered above every name ever seen, so a name is never reused).
  void Adopt(const std::string& path);
  void SeeNumber(uint64_t n);
  // Starts the preparer thread. Stop asks it to finish (after any preparation under way) and joins.
  void Start();
  void Stop();

  // Creates a spare now: spare-N.tmp, preallocated per `mode`, made durable, renamed to
  // spare-N.wal, directory fsync'd. The caller gets the final path.
  Status Prepare(Preallocation mode, std::string* path);
  // A ready spare, or (the preparer being behind) a quick one made now whose space is only
  // reserved (fallocate: metadata, milliseconds) instead of stalling rotation behind a zero-fill.
  Status Take(std::string* path);
  // Asks the preparer for a spare ahead of need; a no-op while one is ready or being prepared.
  void Want();
  // A file leaving the log: renamed into the pool (recycle on, fewer than kMaxReady ready) or
  // removed. Sets *dir_dirty: the caller fsyncs the directory before depending on it.
  void RecycleOrRemove(const std::string& path, bool* dir_dirty);
  size_t ready() const;

  static constexpr size_t kMaxReady = 2;

 private:
  void Loop();
  std::string PathOf(const std::string& name) const { return dir_ + "/" + name; }

  const std::string dir_;
  const Config config_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> ready_;  // full paths of ready spare files
  uint64_t counter_ = 0;            // highest spare number used or seen
  bool wanted_ = false;
  bool preparing_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace powercut::wal
