// Standalone tests of the WAL core, without Node: `make -C native test` (and `make asan-test`
// under AddressSanitizer + UBSan). Each case prints its name; any failed CHECK exits non-zero.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>

#include "../wal/crc32c.h"
#include "../wal/first_seq.h"
#include "../wal/log.h"
#include "../wal/publish_hook.h"
#include "../wal/recovery.h"
#include "../wal/spare_pool.h"
#include "../wal/staging.h"

using namespace powercut::wal;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::exit(1);                                                              \
    }                                                                            \
  } while (0)

static std::string TempDir() {
  char tmpl[] = "/tmp/wal-core-XXXXXX";
  CHECK(::mkdtemp(tmpl) != nullptr);
  return tmpl;
}

static void WaitAcked(Log& log, uint64_t seq) {
  for (int i = 0; i < 20000 && log.GetProgress().acked < seq; i++) std::this_thread::sleep_for(std::chrono::microseconds(100));
  CHECK(log.GetProgress().acked >= seq);
}

static void Crc32cKnownAnswers() {
  const char* s = "123456789";
  CHECK(Crc32c(0, s, 9) == 0xE3069283u);
  CHECK(detail::Crc32cPortable(0, s, 9) == 0xE3069283u);
  std::mt19937 rng(42);
  std::vector<uint8_t> buf(10000);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (size_t len : {0u, 1u, 7u, 8u, 9u, 63u, 4096u, 9999u}) {
    CHECK(detail::Crc32cPortable(0, buf.data() + 1, len) == Crc32c(0, buf.data() + 1, len));
    // Extending in two pieces equals one pass.
    uint32_t a = Crc32c(Crc32c(0, buf.data(), len / 2), buf.data() + len / 2, len - len / 2);
    CHECK(a == Crc32c(0, buf.data(), len));
  }
  std::printf("ok Crc32cKnownAnswers (%s)\n", Crc32cImplementation());
}

static void AppendCloseReopen(Strategy strategy, bool group) {
  std::string dir = TempDir();
  Options o;
  o.segment_size = 64 * 1024;
  o.strategy = strategy;
  o.group_commit = group;
  std::vector<std::string> payloads;
  {
    auto r = Log::Open(dir, o);
    CHECK(r.ok());
    auto& log = *r.value;
    for (int i = 0; i < 300; i++) {
      payloads.push_back(std::string(static_cast<size_t>(i * 7 % 900), static_cast<char>('a' + i % 26)));
      auto a = log.Append(payloads.back().data(), static_cast<uint32_t>(payloads.back().size()));
      CHECK(a.ok() && a.value == static_cast<uint64_t>(i + 1));
    }
    WaitAcked(log, 300);
    std::vector<uint8_t> got;
    CHECK(log.Read(123, &got).ok());
    CHECK(std::string(got.begin(), got.end()) == payloads[122]);
    CHECK(log.Close().ok());
    CHECK(log.Append("x", 1).status.code == Code::kClosed);
  }
  {
    auto r = Log::Open(dir, o);
    CHECK(r.ok());
    CHECK(r.value->recovery().last_seq == 300);
    CHECK(r.value->recovery().torn_bytes == 0);
    std::vector<uint8_t> data;
    std::vector<ReadEntry> entries;
    uint64_t next = 1;
    while (next <= 300) {
      CHECK(r.value->ReadRange(next, 4096, &data, &entries).ok());
      CHECK(!entries.empty());
      for (auto& e : entries) {
        CHECK(e.seq == next);
        CHECK(std::string(data.begin() + static_cast<long>(e.offset), data.begin() + static_cast<long>(e.offset + e.length)) ==
              payloads[next - 1]);
        next++;
      }
    }
  }
  std::string cmd = "rm -rf " + dir;
  CHECK(std::system(cmd.c_str()) == 0);
}

static void ConcurrentAppendersGroupCommit() {
  std::string dir = TempDir();
  Options o;
  o.segment_size = 256 * 1024;
  o.strategy = Strategy::kFdatasync;
  o.group_commit = true;
  auto r = Log::Open(dir, o);
  CHECK(r.ok());
  auto& log = *r.value;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&log, t] {
      std::string p(100 + t, static_cast<char>('A' + t));
      for (int i = 0; i < 200; i++) CHECK(log.Append(p.data(), static_cast<uint32_t>(p.size())).ok());
    });
  }
  for (auto& th : threads) th.join();
  WaitAcked(log, 800);
  CHECK(log.GetProgress().durable == 800);
  CHECK(log.Close().ok());
  auto again = Log::Open(dir, o);
  CHECK(again.ok() && again.value->recovery().last_seq == 800);
  std::string cmd = "rm -rf " + dir;
  CHECK(std::system(cmd.c_str()) == 0);
  std::printf("ok ConcurrentAppendersGroupCommit\n");
}

static void MidLogCorruptionIsReported() {
  std::string dir = TempDir();
  Options o;
  o.segment_size = 64 * 1024;
  o.strategy = Strategy::kNone;
  {
    auto r = Log::Open(dir, o);
    CHECK(r.ok());
    std::string p(200, 'p');
    for (int i = 0; i < 50; i++) CHECK(r.value->Append(p.data(), 200).ok());
    CHECK(r.value->Close().ok());
  }
  std::string seg = dir + "/00000000000000000001.wal";
  int fd = ::open(seg.c_str(), O_RDWR);
  CHECK(fd >= 0);
  uint8_t b = 0;
  off_t at = 4096 + 10 * 216 + 100;  // inside entry 11's payload (200-byte payloads span 216)
  CHECK(::pread(fd, &b, 1, at) == 1);
  b ^= 1;
  CHECK(::pwrite(fd, &b, 1, at) == 1);
  ::close(fd);
  auto r = Log::Open(dir, o);
  CHECK(!r.ok() && r.status.code == Code::kCorruption && r.status.seq == 11);
  o.repair = true;
  auto repaired = Log::Open(dir, o);
  CHECK(repaired.ok() && repaired.value->recovery().last_seq == 10 && repaired.value->recovery().repaired);
  std::string cmd = "rm -rf " + dir;
  CHECK(std::system(cmd.c_str()) == 0);
  std::printf("ok MidLogCorruptionIsReported\n");
}


static void RemoveDir(const std::string& dir) {
  std::string cmd = "rm -rf " + dir;
  CHECK(std::system(cmd.c_str()) == 0);
}

static bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

static void FlipByte(const std::string& path, off_t at) {
  int fd = ::open(path.c_str(), O_RDWR);
  CHECK(fd >= 0);
  uint8_t b = 0;
  CHECK(::pread(fd, &b, 1, at) == 1);
  b ^= 0x10;
  CHECK(::pwrite(fd, &b, 1, at) == 1);
  ::close(fd);
}

// Recovery rule 1 (FORMAT.md): damage below first-seq costs no live entry, with or without repair.
static void RecoveryIgnoresDamageBelowFirstSeq() {
  std::string dir = TempDir();
  Options o;
  o.segment_size = 1 << 20;
  o.strategy = Strategy::kNone;
  {
    auto r = Log::Open(dir, o);
    CHECK(r.ok());
    std::string p(1000, 'q');
    for (int i = 0; i < 18; i++) CHECK(r.value->Append(p.data(), 1000).ok());
    WaitAcked(*r.value, 18);
    CHECK(r.value->RequestSync() == 18);
    for (int i = 0; i < 20000 && r.value->GetProgress().durable < 18; i++) std::this_thread::sleep_for(std::chrono::microseconds(100));
    CHECK(r.value->Truncate(12).ok());
    CHECK(r.value->Close().ok());
  }
  FlipByte(dir + "/00000000000000000001.wal", 4096 + 1 * 1016 + 16 + 500);  // entry 2's payload
  for (bool repair : {false, true}) {
    o.repair = repair;
    auto r = Log::Open(dir, o);
    CHECK(r.ok());
    CHECK(r.value->recovery().first_seq == 12 && r.value->recovery().last_seq == 18 && !r.value->recovery().repaired);
    std::vector<uint8_t> got;
    CHECK(r.value->Read(12, &got).ok() && got.size() == 1000);
    CHECK(r.value->Read(2, &got).code == Code::kNotFound);
  }
  RemoveDir(dir);
  std::printf("ok RecoveryIgnoresDamageBelowFirstSeq\n");
}

// Recovery rule 2: an unreadable record followed at a block boundary by the expected entry was padding.
static void ScanSkipsDamagedPadding() {
  std::string dir = TempDir();
  std::string path = dir + "/seg";
  std::vector<uint8_t> file(4096 * 4, 0);
  EncodeSegmentHeader(file.data(), 7);
  std::string p1(100, 'a'), p2(50, 'b');
  size_t at = 4096;
  at += EncodeEntry(file.data() + at, 7, p1.data(), 100);
  EncodePadding(file.data() + at, 8192 - at);  // to the next block boundary
  const size_t pad_at = at;
  EncodeEntry(file.data() + 8192, 8, p2.data(), 50);
  file[pad_at + 16 + 30] ^= 1;  // damage inside the padding's filler
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
  CHECK(fd >= 0 && ::pwrite(fd, file.data(), file.size(), 0) == static_cast<ssize_t>(file.size()));
  FileWindow win(fd, file.size(), path);
  ScanResult scan;
  CHECK(ScanSegment(win, 7, 0, &scan).ok());
  CHECK(scan.next_seq == 9 && scan.offsets.size() == 2 && scan.offsets[1] == 8192 && scan.padding_skipped == 1);
  // The same damage where the next entry is not the expected one stays a stop.
  EncodeEntry(file.data() + 8192, 9, p2.data(), 50);
  CHECK(::pwrite(fd, file.data(), file.size(), 0) == static_cast<ssize_t>(file.size()));
  FileWindow win2(fd, file.size(), path);
  CHECK(ScanSegment(win2, 7, 0, &scan).ok());
  CHECK(scan.next_seq == 8 && scan.end == ScanResult::End::kInvalid && scan.end_offset == pad_at);
  ::close(fd);
  RemoveDir(dir);
  std::printf("ok ScanSkipsDamagedPadding\n");
}

static void FirstSeqDecoding() {
  uint64_t v = 0;
  bool sum = false;
  CHECK(DecodeFirstSeq("42\n", "f", &v, &sum).ok() && v == 42 && !sum);
  CHECK(DecodeFirstSeq("-1\n", "f", &v, &sum).code == Code::kCorruption);
  CHECK(DecodeFirstSeq("4 2\n", "f", &v, &sum).code == Code::kCorruption);
  CHECK(DecodeFirstSeq("0\n", "f", &v, &sum).code == Code::kOutOfRange);
  CHECK(DecodeFirstSeq("9007199254740992\n", "f", &v, &sum).code == Code::kOutOfRange);
  CHECK(DecodeFirstSeq("18446744073709551616\n", "f", &v, &sum).code == Code::kOutOfRange);
  std::string dir = TempDir();
  CHECK(WriteFirstSeqFile(dir, 1234).ok());
  bool present = false;
  CHECK(ReadFirstSeqFile(dir + "/first-seq", &present, &v, &sum).ok() && present && v == 1234 && sum);
  for (off_t i = 0; i < 24; i++) {
    FlipByte(dir + "/first-seq", i);
    CHECK(ReadFirstSeqFile(dir + "/first-seq", &present, &v, &sum).code == Code::kCorruption);
    FlipByte(dir + "/first-seq", i);
  }
  RemoveDir(dir);
  std::printf("ok FirstSeqDecoding\n");
}

// CreateSegment's order: the header is in the file and durable before the name exists. A rename
// that fails (here: the target directory is missing) leaves the spare holding the header.
static void CreateSegmentHeaderBeforeRename() {
  std::string dir = TempDir();
  SparePool pool(dir, SparePool::Config{64 * 1024, Preallocation::kFallocate, true, false});
  std::string spare;
  CHECK(pool.Prepare(Preallocation::kFallocate, &spare).ok() && Exists(spare));
  std::shared_ptr<Segment> seg;
  Status s = CreateSegment(dir + "/missing", spare, 5, 64 * 1024, Preallocation::kFallocate, 0, &seg);
  CHECK(!s.ok() && s.syscall == "rename" && Exists(spare));
  uint8_t block[kSegmentHeaderSize];
  int fd = ::open(spare.c_str(), O_RDONLY);
  CHECK(fd >= 0 && ::pread(fd, block, sizeof block, 0) == static_cast<ssize_t>(sizeof block));
  ::close(fd);
  CHECK(DecodeSegmentHeader(block, sizeof block) == std::optional<uint64_t>(5));
  CHECK(CreateSegment(dir, spare, 5, 64 * 1024, Preallocation::kFallocate, 0, &seg).ok());
  CHECK(!Exists(spare) && Exists(dir + "/00000000000000000005.wal"));
  CHECK(seg->first_seq == 5 && seg->end == kSegmentHeaderSize && seg->size == 64 * 1024 && seg->wfd == seg->fd);
  seg.reset();
  RemoveDir(dir);
  std::printf("ok CreateSegmentHeaderBeforeRename\n");
}

static void SparePoolPreparesRecyclesAndCaps() {
  std::string dir = TempDir();
  SparePool pool(dir, SparePool::Config{64 * 1024, Preallocation::kZero, true, false});
  pool.SeeNumber(41);
  pool.Start();
  pool.Want();  // the preparer makes one in the background
  for (int i = 0; i < 20000 && pool.ready() == 0; i++) std::this_thread::sleep_for(std::chrono::microseconds(100));
  CHECK(pool.ready() == 1 && Exists(dir + "/spare-00000000000000000042.wal"));
  std::string taken;
  CHECK(pool.Take(&taken).ok() && taken == dir + "/spare-00000000000000000042.wal" && pool.ready() == 0);
  // Nothing ready: Take makes a quick one now rather than wait.
  std::string quick;
  CHECK(pool.Take(&quick).ok() && Exists(quick) && quick != taken);
  // Recycling keeps at most kMaxReady; the rest are removed.
  bool dirty = false;
  std::vector<std::string> freed;
  for (int i = 0; i < 3; i++) {
    freed.push_back(dir + "/old-" + std::to_string(i));
    int fd = ::open(freed.back().c_str(), O_RDWR | O_CREAT, 0644);
    CHECK(fd >= 0);
    ::close(fd);
    pool.RecycleOrRemove(freed.back(), &dirty);
  }
  CHECK(dirty && pool.ready() == SparePool::kMaxReady && !Exists(freed[0]) && !Exists(freed[2]));
  pool.Stop();
  RemoveDir(dir);
  std::printf("ok SparePoolPreparesRecyclesAndCaps\n");
}

// The directory lock holds whatever happens to LOCK, and read_only shares it with readers only.
static void DirectoryLockSurvivesLockFileRemoval() {
  std::string dir = TempDir();
  DirectoryLock a;
  CHECK(a.Acquire(dir, false).ok());
  CHECK(::unlink((dir + "/LOCK").c_str()) == 0);
  DirectoryLock b;
  CHECK(b.Acquire(dir, false).code == Code::kLocked);
  DirectoryLock c;
  CHECK(c.Acquire(dir, true).code == Code::kLocked);
  a.Release();
  DirectoryLock r1, r2;
  CHECK(r1.Acquire(dir, true).ok() && r2.Acquire(dir, true).ok());
  DirectoryLock w;
  CHECK(w.Acquire(dir, false).code == Code::kLocked);
  r1.Release();
  r2.Release();
  RemoveDir(dir);
  std::printf("ok DirectoryLockSurvivesLockFileRemoval\n");
}

// The publish hook (issue 12) is told of every promise before any caller can see it, in order,
// one call per publication covering its highest seq. An observer thread polls the progress; the
// hook checks that the observer has never seen the watermark it is about to publish.
struct CountingHook : PublishHook {
  std::atomic<uint64_t> seen_acked{0}, seen_durable{0};  // written by the observer
  std::mutex mu;
  std::vector<std::pair<Kind, uint64_t>> calls;
  std::atomic<int> early{0};
  Status Published(Kind kind, uint64_t seq) override {
    if ((kind == Kind::kAcked ? seen_acked : seen_durable).load() >= seq) early++;
    std::lock_guard<std::mutex> lk(mu);
    calls.emplace_back(kind, seq);
    return Status::Ok();
  }
};

static void PublishHookPrecedesVisibility(Strategy strategy, bool group, const char* name) {
  std::string dir = TempDir();
  Options o;
  o.segment_size = 64 * 1024;
  o.strategy = strategy;
  o.group_commit = group;
  o.period_ms = 1;
  auto hook = std::make_shared<CountingHook>();
  o.publish_hook = hook;
  auto r = Log::Open(dir, o);
  CHECK(r.ok());
  Log& log = *r.value;
  std::atomic<bool> stop{false};
  std::thread observer([&] {
    while (!stop.load()) {
      Progress p = log.GetProgress();
      if (p.acked > hook->seen_acked.load()) hook->seen_acked.store(p.acked);
      if (p.durable > hook->seen_durable.load()) hook->seen_durable.store(p.durable);
    }
  });
  std::string payload(300, 'm');
  for (int i = 0; i < 400; i++) CHECK(log.Append(payload.data(), 300).ok());
  WaitAcked(log, 400);
  log.RequestSync();
  for (int i = 0; i < 20000 && log.GetProgress().durable < 400; i++) std::this_thread::sleep_for(std::chrono::microseconds(100));
  stop = true;
  observer.join();
  CHECK(log.Close().ok());
  CHECK(hook->early.load() == 0);
  uint64_t last_ack = 0, last_durable = 0;
  for (auto& [kind, seq] : hook->calls) {
    uint64_t& last = kind == PublishHook::Kind::kAcked ? last_ack : last_durable;
    CHECK(seq > last);  // strictly increasing per kind: one call per advance
    last = seq;
  }
  CHECK(last_ack == 400 && last_durable == 400);
  RemoveDir(dir);
  std::printf("ok PublishHookPrecedesVisibility %s (%zu calls)\n", name, hook->calls.size());
}

// A hook that fails fails the log, and the promise is never published.
struct FailingHook : PublishHook {
  Status Published(Kind, uint64_t) override { return Status::FromErrno(ENOTTY, "ioctl", "fake-dm"); }
};

static void PublishHookFailureFailsTheLog() {
  std::string dir = TempDir();
  Options o;
  o.segment_size = 64 * 1024;
  o.publish_hook = std::make_shared<FailingHook>();
  auto r = Log::Open(dir, o);
  CHECK(r.ok());
  CHECK(r.value->Append("x", 1).ok());
  for (int i = 0; i < 20000 && !r.value->GetProgress().failed; i++) std::this_thread::sleep_for(std::chrono::microseconds(100));
  Progress p = r.value->GetProgress();
  CHECK(p.failed && p.acked == 0 && p.durable == 0);
  CHECK(r.value->Failure().syscall == "ioctl");
  CHECK(r.value->Append("y", 1).status.code == Code::kFailed);
  r.value->Close();
  RemoveDir(dir);
  std::printf("ok PublishHookFailureFailsTheLog\n");
}

// Staging on its own (issue 11): sequences, hold-back until Release, sync requests, refusals.
static void StagingHandOff() {
  Staging st(7, /*hold_back=*/true);
  CHECK(st.Append("ab", 2, false).value == 7);
  CHECK(st.Append("cde", 3, false).value == 8);
  CHECK(!st.ready() && st.staged_bytes() == EntrySpan(2) + EntrySpan(3) && st.last_assigned() == 8);
  st.Release();
  CHECK(st.ready() && st.last_release_entries() == 2);
  ByteBuffer batch;
  {
    std::unique_lock<std::mutex> lk(st.mutex());
    CHECK(st.TakeLocked(batch) == 7);
    CHECK(st.empty_locked() && !st.ready() && st.staged_bytes() == 0);
  }
  EntryHeader h;
  std::memcpy(&h, batch.data() + EntrySpan(2), sizeof h);
  CHECK(h.seq == 8 && h.length == 3 && batch.size() == EntrySpan(2) + EntrySpan(3));
  // Group commit's prewrite takes unreleased entries; never released ones twice.
  ByteBuffer early;
  uint64_t first = 0;
  CHECK(st.Append("f", 1, false).ok());
  CHECK(st.TakeUnreleased(early, &first) && first == 9 && !st.TakeUnreleased(early, &first));
  // A sync request releases what is held and is flagged once; none when durable covers it.
  CHECK(st.Append("g", 1, false).ok());
  CHECK(st.RequestSync(0) == 10 && st.ready() && st.sync_requested());
  {
    std::unique_lock<std::mutex> lk(st.mutex());
    CHECK(st.TakeSyncRequestLocked() && !st.TakeSyncRequestLocked());
  }
  CHECK(st.RequestSync(10) == 10 && !st.sync_requested());
  // Without hold-back every append is released at once.
  Staging now(1, false);
  CHECK(now.Append("x", 1, false).ok() && now.ready());
  // Refusals: after a failure (naming it), after close.
  st.Fail(Status::FromErrno(EIO, "fdatasync", "seg"));
  auto refused = st.Append("h", 1, true);
  CHECK(refused.status.code == Code::kFailed && refused.status.message.find("fdatasync") != std::string::npos);
  now.Close();
  CHECK(now.closing() && now.Append("y", 1, true).status.code == Code::kClosed);
  Staging edge(kMaxSeq, false);
  CHECK(edge.Append("z", 1, true).value == kMaxSeq && edge.Append("z", 1, true).status.code == Code::kOutOfRange);
  std::printf("ok StagingHandOff\n");
}

// AppendBatch (issue 16): one call stages a whole batch with consecutive sequences, released at
// once, byte for byte what single appends would have staged; it stops at the last sequence and
// refuses as Append does.
static void StagingAppendBatch() {
  Staging one(5, /*hold_back=*/true);
  Staging many(5, /*hold_back=*/true);
  const Payload items[] = {{"ab", 2}, {"", 0}, {"cdefghijk", 9}};
  for (const auto& p : items) CHECK(one.Append(p.data, p.len, true).ok());
  BatchResult r = many.AppendBatch(items, 3);
  CHECK(r.status.ok() && r.first == 5 && r.staged == 3 && many.ready() && many.last_release_entries() == 3 && many.last_assigned() == 7);
  ByteBuffer a, b;
  {
    std::unique_lock<std::mutex> lk(one.mutex());
    CHECK(one.TakeLocked(a) == 5);
  }
  {
    std::unique_lock<std::mutex> lk(many.mutex());
    CHECK(many.TakeLocked(b) == 5);
  }
  CHECK(a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0);
  // An empty batch stages nothing and wakes no one.
  r = many.AppendBatch(items, 0);
  CHECK(r.status.ok() && r.staged == 0 && !many.ready());
  // At the last sequence: the prefix that fits is staged, the rest refused with kOutOfRange.
  Staging edge(kMaxSeq - 1, false);
  r = edge.AppendBatch(items, 3);
  CHECK(r.first == kMaxSeq - 1 && r.staged == 2 && r.status.code == Code::kOutOfRange && r.status.seq == kMaxSeq + 1);
  CHECK(edge.AppendBatch(items, 1).staged == 0);
  // Refusals name the failure, or the close.
  many.Fail(Status::FromErrno(EIO, "fdatasync", "seg"));
  r = many.AppendBatch(items, 2);
  CHECK(r.staged == 0 && r.status.code == Code::kFailed && r.status.message.find("fdatasync") != std::string::npos);
  one.Close();
  CHECK(one.AppendBatch(items, 1).status.code == Code::kClosed);
  std::printf("ok StagingAppendBatch\n");
}

// Batches through a whole log under group commit: every entry acknowledged, read back in order.
static void AppendBatchGroupCommit() {
  std::string dir = TempDir();
  Options o;
  o.segment_size = 1 << 20;
  o.strategy = Strategy::kFdatasync;
  o.group_commit = true;
  std::vector<std::string> want;
  {
    auto r = Log::Open(dir, o);
    CHECK(r.ok());
    Log& log = *r.value;
    for (int batch = 0; batch < 40; batch++) {
      std::vector<std::string> texts;
      std::vector<Payload> items;
      for (int i = 0; i < 1 + batch % 7; i++) texts.push_back("entry-" + std::to_string(want.size() + texts.size()) + std::string(batch * 97, 'x'));
      for (const auto& t : texts) items.push_back(Payload{t.data(), static_cast<uint32_t>(t.size())});
      BatchResult b = log.AppendBatch(items.data(), items.size());
      CHECK(b.status.ok() && b.first == want.size() + 1 && b.staged == items.size());
      want.insert(want.end(), texts.begin(), texts.end());
    }
    WaitAcked(log, want.size());
    CHECK(log.Close().ok());
  }
  auto r = Log::Open(dir, o);
  CHECK(r.ok() && r.value->recovery().last_seq == want.size());
  for (size_t i = 0; i < want.size(); i++) {
    std::vector<uint8_t> got;
    CHECK(r.value->Read(i + 1, &got).ok());
    CHECK(std::string(got.begin(), got.end()) == want[i]);
  }
  CHECK(r.value->Close().ok());
  RemoveDir(dir);
  std::printf("ok AppendBatchGroupCommit\n");
}

int main() {
  Crc32cKnownAnswers();
  const struct {
    Strategy s;
    bool group;
    const char* name;
  } cases[] = {{Strategy::kFsync, false, "fsync"},         {Strategy::kFdatasync, false, "fdatasync"},
               {Strategy::kDsync, true, "dsync+group"},    {Strategy::kDirect, false, "direct"},
               {Strategy::kDirect, true, "direct+group"}, {Strategy::kPeriodic, false, "periodic"},
               {Strategy::kNone, false, "none"}};
  for (const auto& c : cases) {
    AppendCloseReopen(c.s, c.group);
    std::printf("ok AppendCloseReopen %s\n", c.name);
  }
  ConcurrentAppendersGroupCommit();
  MidLogCorruptionIsReported();
  RecoveryIgnoresDamageBelowFirstSeq();
  ScanSkipsDamagedPadding();
  FirstSeqDecoding();
  CreateSegmentHeaderBeforeRename();
  SparePoolPreparesRecyclesAndCaps();
  DirectoryLockSurvivesLockFileRemoval();
  StagingHandOff();
  StagingAppendBatch();
  AppendBatchGroupCommit();
  PublishHookPrecedesVisibility(Strategy::kFdatasync, false, "fdatasync");
  PublishHookPrecedesVisibility(Strategy::kFdatasync, true, "fdatasync+group");
  PublishHookPrecedesVisibility(Strategy::kPeriodic, false, "periodic");
  PublishHookPrecedesVisibility(Strategy::kNone, false, "none");
  PublishHookFailureFailsTheLog();
  std::printf("all core tests passed\n");
  return 0;
}
