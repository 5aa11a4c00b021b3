// NativeWal: one JS thread's handle on a core Log. The thread that opened the log owns it (close()
// closes the log); worker threads attach to it by id and their close() only detaches.
//
// Threads: every method runs on the handle's JS thread. Completions come from the committer/syncer
// thread through Notifier::Notify -> a thread-safe function call, coalesced so that at most one
// call is queued per handle: the JS callback then reads the latest progress with progress().
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <vector>

#include "../wal/log.h"

namespace powercut::addon {

class NativeWal : public Napi::ObjectWrap<NativeWal> {
 public:
  static Napi::Function Init(Napi::Env env);
  // Creates the JS object for a log (on the JS thread).
  static Napi::Object Wrap(Napi::Env env, std::shared_ptr<wal::Log> log, bool owner, uint64_t id);

  explicit NativeWal(const Napi::CallbackInfo& info);
  ~NativeWal() override;

 private:
  Napi::Value AppendBatch(const Napi::CallbackInfo& info);
  Napi::Value RequestSync(const Napi::CallbackInfo& info);
  Napi::Value Progress(const Napi::CallbackInfo& info);
  Napi::Value Failure(const Napi::CallbackInfo& info);
  Napi::Value Listen(const Napi::CallbackInfo& info);
  Napi::Value Ref(const Napi::CallbackInfo& info);
  Napi::Value Unref(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value ReadRange(const Napi::CallbackInfo& info);
  Napi::Value Truncate(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);

  bool Usable(Napi::Env env);
  void Detach();
  static void Cleanup(void* self);

  std::shared_ptr<wal::Log> log_;
  bool owner_ = false;
  uint64_t id_ = 0;
  struct Listener;
  Listener* listener_ = nullptr;  // owned by its thread-safe function (freed in its finalizer)
  bool cleanup_hook_ = false;
  bool detached_ = false;
  std::vector<wal::Payload> batch_;  // AppendBatch's scratch, kept to spare an allocation per call
};

// Process-wide table of open logs, so worker threads can attach by id.
uint64_t RegisterLog(const std::shared_ptr<wal::Log>& log);
std::shared_ptr<wal::Log> FindLog(uint64_t id);
void UnregisterLog(uint64_t id);

}  // namespace powercut::addon
