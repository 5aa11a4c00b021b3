// node-addon-api glue for native/dm/loop-mount (a module of its own, powercut_mount.node, used on
// the host by crash-state checking): loopMount(image, target, fstype, data) -> Promise<device>,
// unmount(target) -> Promise<void>, and restoreFromBase (below) for state images. Each call runs on a libuv pool thread, so states checked
// side by side mount and replay their journals at the same time. A failure rejects with an Error
// carrying `code` ('MOUNT_FAILED') and `errno`. Arguments are checked by src/dm/loop-mount.ts.
#include <napi.h>

#include <string>
#include <utility>

#include "../dm/loop-mount.h"

namespace {

class MountWork : public Napi::AsyncWorker {
 public:
  using Op = powercut::dm::LoopMountResult (*)(const std::string&, const std::string&, const std::string&, const std::string&);
  MountWork(Napi::Env env, std::string image, std::string target, std::string fstype, std::string data, bool unmount)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        image_(std::move(image)),
        target_(std::move(target)),
        fstype_(std::move(fstype)),
        data_(std::move(data)),
        unmount_(unmount) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    result_ = unmount_ ? powercut::dm::Unmount(target_) : powercut::dm::LoopMount(image_, target_, fstype_, data_);
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (result_.ok()) {
      deferred_.Resolve(unmount_ ? env.Undefined() : Napi::String::New(env, result_.device));
      return;
    }
    Napi::Error error = Napi::Error::New(env, result_.message);
    error.Set("code", Napi::String::New(env, "MOUNT_FAILED"));
    error.Set("errno", Napi::Number::New(env, result_.err));
    error.Set("device", Napi::String::New(env, result_.device));
    deferred_.Reject(error.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::string image_, target_, fstype_, data_;
  bool unmount_;
  powercut::dm::LoopMountResult result_;
};

std::string Arg(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::String>().Utf8Value(); }

Napi::Value LoopMount(const Napi::CallbackInfo& info) {
  auto* work = new MountWork(info.Env(), Arg(info, 0), Arg(info, 1), Arg(info, 2), Arg(info, 3), false);
  Napi::Promise promise = work->Promise();
  work->Queue();
  return promise;
}

Napi::Value Unmount(const Napi::CallbackInfo& info) {
  auto* work = new MountWork(info.Env(), "", Arg(info, 0), "", "", true);
  Napi::Promise promise = work->Promise();
  work->Queue();
  return promise;
}

// restoreFromBase(baseFd, imageFd, size, blockBytes, dirty: Uint8Array) -> { compared, copied,
// punched }; synchronous (it runs between two states, while the base must not move). Throws with
// `code` 'RESTORE_FAILED' and `errno`.
Napi::Value RestoreFromBase(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto dirty = info[4].As<Napi::Uint8Array>();
  auto r = powercut::dm::RestoreFromBase(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(),
                                         info[2].As<Napi::Number>().Int64Value(), info[3].As<Napi::Number>().Int64Value(), dirty.Data(),
                                         static_cast<long long>(dirty.ElementLength()));
  if (!r.ok()) {
    Napi::Error error = Napi::Error::New(env, r.message);
    error.Set("code", Napi::String::New(env, "RESTORE_FAILED"));
    error.Set("errno", Napi::Number::New(env, r.err));
    error.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("compared", Napi::Number::New(env, static_cast<double>(r.compared)));
  out.Set("copied", Napi::Number::New(env, static_cast<double>(r.copied)));
  out.Set("punched", Napi::Number::New(env, static_cast<double>(r.punched)));
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("restoreFromBase", Napi::Function::New(env, RestoreFromBase));
  exports.Set("loopMount", Napi::Function::New(env, LoopMount));
  exports.Set("unmount", Napi::Function::New(env, Unmount));
  return exports;
}

}  // namespace

NODE_API_MODULE(powercut_mount, Init)
