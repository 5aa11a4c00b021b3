#include "native-wal.h"

#include <functional>
#include <mutex>
#include <unordered_map>

#include "../wal/crc32c.h"
#include "errors.h"

namespace powercut::addon {

// ---------------------------------------------------------------- registry

namespace {
std::mutex registry_mu;
std::unordered_map<uint64_t, std::weak_ptr<wal::Log>> registry;
uint64_t next_id = 1;

struct PerEnv {
  Napi::FunctionReference ctor;
};

struct Payload {
  std::shared_ptr<wal::Log> log;
  bool owner;
  uint64_t id;
};
}  // namespace

uint64_t RegisterLog(const std::shared_ptr<wal::Log>& log) {
  std::lock_guard<std::mutex> lk(registry_mu);
  uint64_t id = next_id++;
  registry[id] = log;
  return id;
}

std::shared_ptr<wal::Log> FindLog(uint64_t id) {
  std::lock_guard<std::mutex> lk(registry_mu);
  auto it = registry.find(id);
  return it == registry.end() ? nullptr : it->second.lock();
}

void UnregisterLog(uint64_t id) {
  std::lock_guard<std::mutex> lk(registry_mu);
  registry.erase(id);
}

// ---------------------------------------------------------------- listener

struct NativeWal::Listener : wal::Notifier {
  napi_threadsafe_function tsfn = nullptr;
  std::atomic<bool> queued{false};

  // Committer / syncer thread.
  void Notify() override {
    if (!queued.exchange(true, std::memory_order_acq_rel)) {
      if (napi_call_threadsafe_function(tsfn, nullptr, napi_tsfn_nonblocking) != napi_ok) queued.store(false);
    }
  }
  // JS thread.
  static void CallJs(napi_env env, napi_value js_cb, void* context, void* /*data*/) {
    auto* self = static_cast<Listener*>(context);
    // Clear before calling: progress published while JS runs queues one more call.
    self->queued.store(false, std::memory_order_release);
    if (env == nullptr || js_cb == nullptr) return;
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, js_cb, 0, nullptr, nullptr);
  }
  static void Finalize(napi_env, void* data, void*) { delete static_cast<Listener*>(data); }
};

// ---------------------------------------------------------------- class

Napi::Function NativeWal::Init(Napi::Env env) {
  Napi::Function ctor = DefineClass(env, "NativeWal",
                                    {
                                        InstanceMethod("appendBatch", &NativeWal::AppendBatch),
                                        InstanceMethod("requestSync", &NativeWal::RequestSync),
                                        InstanceMethod("progress", &NativeWal::Progress),
                                        InstanceMethod("failure", &NativeWal::Failure),
                                        InstanceMethod("listen", &NativeWal::Listen),
                                        InstanceMethod("ref", &NativeWal::Ref),
                                        InstanceMethod("unref", &NativeWal::Unref),
                                        InstanceMethod("read", &NativeWal::Read),
                                        InstanceMethod("readRange", &NativeWal::ReadRange),
                                        InstanceMethod("truncate", &NativeWal::Truncate),
                                        InstanceMethod("close", &NativeWal::Close),
                                        InstanceMethod("info", &NativeWal::Info),
                                    });
  auto* per_env = new PerEnv{Napi::Persistent(ctor)};
  env.SetInstanceData<PerEnv>(per_env);
  return ctor;
}

Napi::Object NativeWal::Wrap(Napi::Env env, std::shared_ptr<wal::Log> log, bool owner, uint64_t id) {
  Payload payload{std::move(log), owner, id};
  return env.GetInstanceData<PerEnv>()->ctor.New({Napi::External<Payload>::New(env, &payload)});
}

NativeWal::NativeWal(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeWal>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    Napi::TypeError::New(info.Env(), "NativeWal is created by open() or attach()").ThrowAsJavaScriptException();
    return;
  }
  auto* payload = info[0].As<Napi::External<Payload>>().Data();
  log_ = payload->log;
  owner_ = payload->owner;
  id_ = payload->id;
  // At environment teardown (process exit, worker exit) the owner drains and closes the log, so
  // entries appended but not yet written are not lost by a plain exit.
  napi_add_env_cleanup_hook(info.Env(), &NativeWal::Cleanup, this);
  cleanup_hook_ = true;
}

NativeWal::~NativeWal() {
  if (cleanup_hook_) napi_remove_env_cleanup_hook(Env(), &NativeWal::Cleanup, this);
  Detach();
}

void NativeWal::Cleanup(void* p) {
  auto* self = static_cast<NativeWal*>(p);
  self->cleanup_hook_ = false;
  if (self->owner_ && self->log_) self->log_->Close();
  self->Detach();
}

void NativeWal::Detach() {
  if (listener_ != nullptr && log_) log_->RemoveNotifier(listener_);
  if (listener_ != nullptr) {
    napi_release_threadsafe_function(listener_->tsfn, napi_tsfn_release);
    listener_ = nullptr;
  }
  if (owner_ && id_ != 0) UnregisterLog(id_);
  detached_ = true;
}

bool NativeWal::Usable(Napi::Env env) {
  if (detached_ || !log_) {
    MakeError(env, wal::Status::Make(wal::Code::kClosed, "the WAL is closed")).ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

Napi::Value NativeWal::AppendBatch(const Napi::CallbackInfo& info) {
  // appendBatch(bytes: Uint8Array, lengths: Uint32Array, count, out: Float64Array(2)): the
  // payloads of one event-loop turn's appends, back to back in `bytes` with their lengths (see
  // Wal.append), staged as one batch: one N-API call, one lock and one wake-up of the committer per
  // turn instead of per append. Writes [first seq, staged count] into `out` and returns the error
  // that refused the rest, or undefined when all were staged.
  Napi::Env env = info.Env();
  if (!Usable(env)) return env.Undefined();
  // The TS layer has checked the types and that every length is within maxPayload.
  auto bytes = info[0].As<Napi::Uint8Array>();
  auto lengths = info[1].As<Napi::Uint32Array>();
  const uint32_t count = info[2].As<Napi::Number>().Uint32Value();
  auto out = info[3].As<Napi::Float64Array>();
  if (count > lengths.ElementLength()) {
    Napi::RangeError::New(env, "appendBatch: count exceeds the lengths given").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  batch_.clear();
  batch_.reserve(count);
  const uint8_t* at = bytes.Data();
  size_t left = bytes.ByteLength();
  for (uint32_t i = 0; i < count; i++) {
    const uint32_t len = lengths[i];
    if (len > left) {
      Napi::RangeError::New(env, "appendBatch: lengths exceed the bytes given").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    batch_.push_back(wal::Payload{at, len});
    at += len;
    left -= len;
  }
  wal::BatchResult r = log_->AppendBatch(batch_.data(), batch_.size());
  out[0] = static_cast<double>(r.first);
  out[1] = static_cast<double>(r.staged);
  if (r.status.ok()) return env.Undefined();
  return MakeError(env, r.status).Value();
}

Napi::Value NativeWal::RequestSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Usable(env)) return env.Undefined();
  return Napi::Number::New(env, static_cast<double>(log_->RequestSync()));
}

Napi::Value NativeWal::Progress(const Napi::CallbackInfo& info) {
  // Fills the caller's Float64Array(5): [acked, durable, lastAssigned, failed, closed]. No
  // allocation: this runs once per completion batch.
  Napi::Env env = info.Env();
  auto out = info[0].As<Napi::Float64Array>();
  wal::Progress p = log_ ? log_->GetProgress() : wal::Progress{};
  out[0] = static_cast<double>(p.acked);
  out[1] = static_cast<double>(p.durable);
  out[2] = static_cast<double>(p.last_assigned);
  out[3] = p.failed ? 1 : 0;
  out[4] = (p.closed || detached_) ? 1 : 0;
  return env.Undefined();
}

Napi::Value NativeWal::Failure(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!log_) return env.Undefined();
  wal::Status s = log_->Failure();
  if (s.ok()) return env.Undefined();
  return MakeError(env, s).Value();
}

Napi::Value NativeWal::Listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Usable(env)) return env.Undefined();
  if (listener_ != nullptr) return env.Undefined();
  auto* l = new Listener();
  napi_value name = Napi::String::New(env, "powercut-wal-progress");
  napi_status st = napi_create_threadsafe_function(env, info[0], nullptr, name, 0, 1, l, &Listener::Finalize, l,
                                                   &Listener::CallJs, &l->tsfn);
  if (st != napi_ok) {
    delete l;
    Napi::Error::New(env, "cannot create the completion channel").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // Unreferenced until something waits: an idle WAL must not keep the process alive.
  napi_unref_threadsafe_function(env, l->tsfn);
  listener_ = l;
  log_->AddNotifier(l);
  return env.Undefined();
}

Napi::Value NativeWal::Ref(const Napi::CallbackInfo& info) {
  if (listener_ != nullptr) napi_ref_threadsafe_function(info.Env(), listener_->tsfn);
  return info.Env().Undefined();
}

Napi::Value NativeWal::Unref(const Napi::CallbackInfo& info) {
  if (listener_ != nullptr) napi_unref_threadsafe_function(info.Env(), listener_->tsfn);
  return info.Env().Undefined();
}

namespace {

// Runs one blocking Log call on libuv's pool and settles a promise. Reads, truncate and close are
// rare next to appends; their pool round trip does not matter.
class Task : public Napi::AsyncWorker {
 public:
  Task(Napi::Env env, std::shared_ptr<wal::Log> log)
      : Napi::AsyncWorker(env, "powercut-wal"), log_(std::move(log)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void OnOK() override {
    Napi::Env env = Env();
    if (!status_.ok()) {
      deferred_.Reject(MakeError(env, status_).Value());
      return;
    }
    deferred_.Resolve(Result(env));
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }

  std::shared_ptr<wal::Log> log_;
  wal::Status status_;
  Napi::Promise::Deferred deferred_;
};

Napi::Value BufferFrom(Napi::Env env, std::vector<uint8_t>&& bytes) {
  auto* held = new std::vector<uint8_t>(std::move(bytes));
  if (held->empty()) {
    delete held;
    return Napi::Buffer<uint8_t>::New(env, 0);
  }
  return Napi::Buffer<uint8_t>::New(env, held->data(), held->size(),
                                    [](Napi::Env, uint8_t*, std::vector<uint8_t>* v) { delete v; }, held);
}

class ReadTask : public Task {
 public:
  ReadTask(Napi::Env env, std::shared_ptr<wal::Log> log, uint64_t seq) : Task(env, std::move(log)), seq_(seq) {}
  void Execute() override { status_ = log_->Read(seq_, &payload_); }
  Napi::Value Result(Napi::Env env) override { return BufferFrom(env, std::move(payload_)); }

 private:
  uint64_t seq_;
  std::vector<uint8_t> payload_;
};

class ReadRangeTask : public Task {
 public:
  ReadRangeTask(Napi::Env env, std::shared_ptr<wal::Log> log, uint64_t from, size_t max_bytes)
      : Task(env, std::move(log)), from_(from), max_bytes_(max_bytes) {}
  void Execute() override { status_ = log_->ReadRange(from_, max_bytes_, &data_, &entries_); }
  Napi::Value Result(Napi::Env env) override {
    // [buffer, Float64Array of (seq, payloadOffset, length) triples]
    auto index = Napi::Float64Array::New(env, entries_.size() * 3);
    for (size_t i = 0; i < entries_.size(); i++) {
      index[i * 3] = static_cast<double>(entries_[i].seq);
      index[i * 3 + 1] = static_cast<double>(entries_[i].offset);
      index[i * 3 + 2] = static_cast<double>(entries_[i].length);
    }
    Napi::Array out = Napi::Array::New(env, 2);
    out.Set(0u, BufferFrom(env, std::move(data_)));
    out.Set(1u, index);
    return out;
  }

 private:
  uint64_t from_;
  size_t max_bytes_;
  std::vector<uint8_t> data_;
  std::vector<wal::ReadEntry> entries_;
};

class TruncateTask : public Task {
 public:
  TruncateTask(Napi::Env env, std::shared_ptr<wal::Log> log, uint64_t before) : Task(env, std::move(log)), before_(before) {}
  void Execute() override { status_ = log_->Truncate(before_); }

 private:
  uint64_t before_;
};

class CloseTask : public Task {
 public:
  CloseTask(Napi::Env env, std::shared_ptr<wal::Log> log, std::function<void()> done)
      : Task(env, std::move(log)), done_(std::move(done)) {}
  void Execute() override { status_ = log_->Close(); }
  void OnOK() override {
    done_();  // stop listening only after the drain's last notifications were published
    Task::OnOK();
  }

 private:
  std::function<void()> done_;
};

// Queues a task on libuv's pool and returns its promise.
Napi::Value QueueTask(Task* t) {
  Napi::Promise p = t->Promise();
  t->Queue();
  return p;
}

uint64_t SeqArg(const Napi::CallbackInfo& info, size_t i) {
  return static_cast<uint64_t>(info[i].As<Napi::Number>().DoubleValue());
}

}  // namespace

Napi::Value NativeWal::Read(const Napi::CallbackInfo& info) {
  if (!Usable(info.Env())) return info.Env().Undefined();
  return QueueTask(new ReadTask(info.Env(), log_, SeqArg(info, 0)));
}

Napi::Value NativeWal::ReadRange(const Napi::CallbackInfo& info) {
  if (!Usable(info.Env())) return info.Env().Undefined();
  return QueueTask(new ReadRangeTask(info.Env(), log_, SeqArg(info, 0), static_cast<size_t>(SeqArg(info, 1))));
}

Napi::Value NativeWal::Truncate(const Napi::CallbackInfo& info) {
  if (!Usable(info.Env())) return info.Env().Undefined();
  return QueueTask(new TruncateTask(info.Env(), log_, SeqArg(info, 0)));
}

Napi::Value NativeWal::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto deferred = Napi::Promise::Deferred::New(env);
  if (detached_ || !log_) {
    deferred.Resolve(env.Undefined());
    return deferred.Promise();
  }
  if (!owner_) {
    // A worker's handle: stop listening; the log stays open for its owner.
    Detach();
    deferred.Resolve(env.Undefined());
    return deferred.Promise();
  }
  if (id_ != 0) UnregisterLog(id_);  // no new attachments to a closing log
  // The task holds a reference to this object until it settles, so `this` stays valid.
  auto self_ref = std::make_shared<Napi::ObjectReference>(Napi::Persistent(Value()));
  return QueueTask(new CloseTask(env, log_, [this, self_ref] {
    Detach();
    self_ref->Reset();
  }));
}

Napi::Value NativeWal::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  if (!log_) return o;
  o.Set("id", Napi::Number::New(env, static_cast<double>(id_)));
  o.Set("maxPayload", Napi::Number::New(env, static_cast<double>(log_->max_payload())));
  o.Set("directBlock", Napi::Number::New(env, log_->direct_block()));
  o.Set("crc32c", Napi::String::New(env, wal::Crc32cImplementation()));
  const wal::RecoveryReport& r = log_->recovery();
  Napi::Object rep = Napi::Object::New(env);
  rep.Set("firstSeq", Napi::Number::New(env, static_cast<double>(r.first_seq)));
  rep.Set("lastSeq", Napi::Number::New(env, static_cast<double>(r.last_seq)));
  rep.Set("entries", Napi::Number::New(env, static_cast<double>(r.entries)));
  rep.Set("tornBytes", Napi::Number::New(env, static_cast<double>(r.torn_bytes)));
  rep.Set("segments", Napi::Number::New(env, static_cast<double>(r.segments)));
  if (r.repaired) rep.Set("repaired", MakeError(env, r.repair_status).Value());
  o.Set("recovery", rep);
  return o;
}

}  // namespace powercut::addon
