// Names the calling thread (seen in /proc/<pid>/task/*/comm, top -H, perf), so the CPU each WAL
// thread spends can be told apart: src/bench/commit-profile.ts splits CPU per commit by it.
#pragma once

#include <pthread.h>

namespace powercut::wal {

// At most 15 characters (the kernel's limit); longer names are refused and the thread keeps its own.
inline void NameThread(const char* name) { ::pthread_setname_np(::pthread_self(), name); }

}  // namespace powercut::wal
