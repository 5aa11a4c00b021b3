#include "spare_pool.h"

#include "thread_name.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

namespace powercut::wal {

SparePool::SparePool(std::string dir, const Config& config) : dir_(std::move(dir)), config_(config) {}

SparePool::~SparePool() { Stop(); }

void SparePool::Adopt(const std::string& path) {
  std::lock_guard<std::mutex> lk(mu_);
  ready_.push_back(path);
}

void SparePool::SeeNumber(uint64_t n) {
  std::lock_guard<std::mutex> lk(mu_);
  counter_ = std::max(counter_, n);
}

void SparePool::Start() {
  if (config_.read_only || thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void SparePool::Stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status SparePool::Prepare(Preallocation mode, std::string* path) {
  uint64_t n;
  {
    std::lock_guard<std::mutex> lk(mu_);
    n = ++counter_;
  }
  std::string tmp = PathOf(SpareFileName(n, true));
  std::string final_path = PathOf(SpareFileName(n, false));
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, "open", tmp);
  Status s = Preallocate(fd, config_.segment_size, mode, tmp);
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), final_path.c_str()) != 0) s = Status::FromErrno(errno, "rename", tmp);
  if (s.ok()) s = FsyncPath(dir_, true);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  *path = final_path;
  return Status::Ok();
}

Status SparePool::Take(std::string* path) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!ready_.empty()) {
      *path = ready_.back();
      ready_.pop_back();
      return Status::Ok();
    }
  }
  Preallocation quick = config_.preallocate == Preallocation::kZero ? Preallocation::kFallocate : config_.preallocate;
  return Prepare(quick, path);
}

void SparePool::Want() {
  std::lock_guard<std::mutex> lk(mu_);
  if (ready_.empty() && !preparing_) {
    wanted_ = true;
    cv_.notify_all();
  }
}

void SparePool::Loop() {
  NameThread("wal-spare");
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    cv_.wait(lk, [this] { return wanted_ || stop_; });
    if (stop_) return;
    wanted_ = false;
    if (!ready_.empty()) continue;
    preparing_ = true;
    lk.unlock();
    std::string path;
    Status s = Prepare(config_.preallocate, &path);
    lk.lock();
    preparing_ = false;
    // A failure here is not the log's failure: rotation tries again itself (Take) and reports then.
    if (s.ok()) ready_.push_back(path);
  }
}

void SparePool::RecycleOrRemove(const std::string& path, bool* dir_dirty) {
  *dir_dirty = true;
  if (config_.read_only) return;  // the file stays; recovery leaves it out of the log in memory
  if (config_.recycle) {
    std::lock_guard<std::mutex> lk(mu_);
    if (ready_.size() < kMaxReady) {
      std::string to = PathOf(SpareFileName(++counter_, false));
      if (::rename(path.c_str(), to.c_str()) == 0) {
        ready_.push_back(to);
        return;
      }
    }
  }
  ::unlink(path.c_str());
}

size_t SparePool::ready() const {
  std::lock_guard<std::mutex> lk(mu_);
  return ready_.size();
}

}  // namespace powercut::wal
