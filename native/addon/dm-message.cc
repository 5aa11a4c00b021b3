// node-addon-api glue for native/dm (a module of its own, powercut_dm.node, so the WAL addon is
// untouched): open(path) -> handle; handle.message(name, text) -> undefined, throws with errno.
// Synchronous on purpose: the writer must issue the mark after it reported the acknowledgement and
// before it goes on, and the ioctl only queues the mark in the kernel (microseconds).
// Arguments are checked by src/crash/record-marker.ts; this layer only converts.
#include <napi.h>

#include <memory>

#include "../dm/dm-message.h"

namespace {

class DmHandle : public Napi::ObjectWrap<DmHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "DmHandle", {InstanceMethod("message", &DmHandle::Message), InstanceMethod("close", &DmHandle::Close)});
  }
  explicit DmHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DmHandle>(info) {
    std::string path = info[0].As<Napi::String>().Utf8Value();
    auto r = control_.Open(path);
    if (!r.ok()) Throw(info.Env(), r);
  }

 private:
  static void Throw(Napi::Env env, const powercut::dm::DmResult& r) {
    Napi::Error error = Napi::Error::New(env, r.message);
    error.Set("code", Napi::String::New(env, "DM_MESSAGE_FAILED"));
    error.Set("errno", Napi::Number::New(env, r.err));
    error.ThrowAsJavaScriptException();
  }
  Napi::Value Message(const Napi::CallbackInfo& info) {
    auto r = control_.Message(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value());
    if (!r.ok()) Throw(info.Env(), r);
    return info.Env().Undefined();
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    control_.Close();
    return info.Env().Undefined();
  }
  powercut::dm::DmControl control_;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("DmHandle", DmHandle::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(powercut_dm, Init)
