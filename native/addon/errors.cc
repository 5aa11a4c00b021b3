#include "errors.h"

namespace powercut::addon {

Napi::Error MakeError(Napi::Env env, const wal::Status& status) {
  Napi::Error e = Napi::Error::New(env, status.message);
  Napi::Object o = e.Value();
  o.Set("code", Napi::String::New(env, wal::CodeName(status.code)));
  if (status.err != 0) o.Set("errno", Napi::Number::New(env, status.err));
  if (!status.syscall.empty()) o.Set("syscall", Napi::String::New(env, status.syscall));
  if (!status.path.empty()) o.Set("path", Napi::String::New(env, status.path));
  if (status.code == wal::Code::kCorruption) o.Set("offset", Napi::Number::New(env, static_cast<double>(status.offset)));
  if (status.seq != 0) o.Set("seq", Napi::Number::New(env, static_cast<double>(status.seq)));
  return e;
}

}  // namespace powercut::addon
