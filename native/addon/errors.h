// Status -> JS Error carrying code, errno, syscall, path, offset, seq. The TS layer re-wraps it in
// WalError with the caller's stack. Runs on the JS thread only.
#pragma once

#include <napi.h>

#include "../wal/status.h"

namespace powercut::addon {

Napi::Error MakeError(Napi::Env env, const wal::Status& status);

}  // namespace powercut::addon
