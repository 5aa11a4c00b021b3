// Module entry: open(dir, options) -> Promise<NativeWal>, attach(id) -> NativeWal, crc32c(bytes).
// Argument checking is the TS layer's job (src/wal/options.ts); this file only converts.
#include <napi.h>

#include "../dm/publish-marks.h"
#include "../wal/crc32c.h"
#include "../wal/log.h"
#include "errors.h"
#include "native-wal.h"

namespace powercut::addon {
namespace {

// An unknown name is refused, never mapped to a default: a strategy string the TS layer let through
// by mistake must not silently change what is synced (issue 11).
bool ParseStrategy(const std::string& s, wal::Strategy* out) {
  static const std::pair<const char*, wal::Strategy> kNames[] = {
      {"fsync", wal::Strategy::kFsync},       {"fdatasync", wal::Strategy::kFdatasync}, {"dsync", wal::Strategy::kDsync},
      {"direct", wal::Strategy::kDirect},     {"periodic", wal::Strategy::kPeriodic},   {"none", wal::Strategy::kNone},
  };
  for (const auto& [name, value] : kNames) {
    if (s == name) {
      *out = value;
      return true;
    }
  }
  return false;
}

bool ParsePreallocation(const std::string& s, wal::Preallocation* out) {
  static const std::pair<const char*, wal::Preallocation> kNames[] = {
      {"none", wal::Preallocation::kNone}, {"fallocate", wal::Preallocation::kFallocate}, {"zero", wal::Preallocation::kZero}};
  for (const auto& [name, value] : kNames) {
    if (s == name) {
      *out = value;
      return true;
    }
  }
  return false;
}

// Every field is present and valid: the TS layer fills defaults and validates. The enumerations
// are checked again here because a wrong one would not fail, only mean something else.
wal::Status ParseOptions(Napi::Object o, wal::Options* out) {
  wal::Options opt;
  opt.segment_size = static_cast<uint64_t>(o.Get("segmentSize").As<Napi::Number>().DoubleValue());
  const std::string preallocate = o.Get("preallocate").As<Napi::String>().Utf8Value();
  if (!ParsePreallocation(preallocate, &opt.preallocate)) {
    return wal::Status::Make(wal::Code::kInvalidArgument, "unknown preallocation '" + preallocate + "'");
  }
  opt.recycle = o.Get("recycle").As<Napi::Boolean>().Value();
  const std::string strategy = o.Get("strategy").As<Napi::String>().Utf8Value();
  if (!ParseStrategy(strategy, &opt.strategy)) {
    return wal::Status::Make(wal::Code::kInvalidArgument, "unknown strategy '" + strategy + "'");
  }
  opt.group_commit = o.Get("groupCommit").As<Napi::Boolean>().Value();
  opt.period_ms = o.Get("periodMs").As<Napi::Number>().Uint32Value();
  opt.sync_file_range = o.Get("syncFileRange").As<Napi::Boolean>().Value();
  opt.repair = o.Get("repair").As<Napi::Boolean>().Value();
  opt.read_only = o.Get("readOnly").As<Napi::Boolean>().Value();
  opt.spin_us = o.Get("spinUs").As<Napi::Number>().Uint32Value();
  opt.sync_depth = o.Get("syncDepth").As<Napi::Number>().Uint32Value();
  *out = opt;
  return wal::Status::Ok();
}

// publishMarks (crash testing): { dmName, control } or null; the control device is opened by the
// open task, off the JS thread.
struct MarkTarget {
  bool wanted = false;
  std::string dm_name;
  std::string control;
};

MarkTarget ParseMarkTarget(Napi::Object o) {
  MarkTarget t;
  Napi::Value v = o.Get("publishMarks");
  if (!v.IsObject()) return t;
  Napi::Object m = v.As<Napi::Object>();
  t.wanted = true;
  t.dm_name = m.Get("dmName").As<Napi::String>().Utf8Value();
  t.control = m.Get("control").As<Napi::String>().Utf8Value();
  return t;
}

class OpenTask : public Napi::AsyncWorker {
 public:
  OpenTask(Napi::Env env, std::string dir, wal::Options options, MarkTarget marks)
      : Napi::AsyncWorker(env, "powercut-wal-open"),
        dir_(std::move(dir)),
        options_(options),
        marks_(std::move(marks)),
        deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    if (marks_.wanted) {
      result_.status = dm::MarkPublisher::Open(marks_.dm_name, marks_.control, &options_.publish_hook);
      if (!result_.ok()) return;
    }
    result_ = wal::Log::Open(dir_, options_);
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (!result_.ok()) {
      deferred_.Reject(MakeError(env, result_.status).Value());
      return;
    }
    uint64_t id = RegisterLog(result_.value);
    deferred_.Resolve(NativeWal::Wrap(env, std::move(result_.value), true, id));
  }

 private:
  std::string dir_;
  wal::Options options_;
  MarkTarget marks_;
  wal::Result<std::shared_ptr<wal::Log>> result_;
  Napi::Promise::Deferred deferred_;
};

Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  wal::Options options;
  wal::Status parsed = ParseOptions(info[1].As<Napi::Object>(), &options);
  if (!parsed.ok()) {
    auto deferred = Napi::Promise::Deferred::New(env);
    deferred.Reject(MakeError(env, parsed).Value());
    return deferred.Promise();
  }
  auto* t = new OpenTask(env, info[0].As<Napi::String>().Utf8Value(), options, ParseMarkTarget(info[1].As<Napi::Object>()));
  Napi::Promise p = t->Promise();
  t->Queue();
  return p;
}

Napi::Value Attach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto id = static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue());
  std::shared_ptr<wal::Log> log = FindLog(id);
  if (!log || log->GetProgress().closed) {
    MakeError(env, wal::Status::Make(wal::Code::kClosed, "no open WAL with share id " + std::to_string(id) +
                                                             " in this process (closed, or opened elsewhere)"))
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return NativeWal::Wrap(env, std::move(log), false, id);
}

Napi::Value Crc32c(const Napi::CallbackInfo& info) {
  auto a = info[0].As<Napi::Uint8Array>();
  return Napi::Number::New(info.Env(), wal::Crc32c(0, a.Data(), a.ByteLength()));
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeWal", NativeWal::Init(env));
  exports.Set("open", Napi::Function::New(env, Open, "open"));
  exports.Set("attach", Napi::Function::New(env, Attach, "attach"));
  exports.Set("crc32c", Napi::Function::New(env, Crc32c, "crc32c"));
  exports.Set("crc32cImplementation", Napi::String::New(env, wal::Crc32cImplementation()));
  // Which planted bug this build carries (native/plants.json), null for a real build.
#ifdef POWERCUT_PLANT_NAME
  exports.Set("planted", Napi::String::New(env, POWERCUT_PLANT_NAME));
#else
  exports.Set("planted", env.Null());
#endif
  return exports;
}

}  // namespace powercut::addon

static Napi::Object InitPowercutWal(Napi::Env env, Napi::Object exports) { return powercut::addon::Init(env, exports); }

NODE_API_MODULE(powercut_wal, InitPowercutWal)
