// Loads the native addon (native/binding.gyp) and describes its surface. POWERCUT_NATIVE_BUILD
// points at another build directory (scripts/native-sanitize.sh uses native/build-asan).
import { createRequire } from 'node:module';
import path from 'node:path';
import { nativeBuildDir } from '../project-root.js';
import { WalError } from './errors.js';
import type { ResolvedOptions } from './options.js';

export interface NativeInfo {
  id: number;
  maxPayload: number;
  directBlock: number;
  crc32c: string;
  recovery: { firstSeq: number; lastSeq: number; entries: number; tornBytes: number; segments: number; repaired?: unknown };
}

export interface NativeWal {
  /**
   * Stages `count` entries, their payloads back to back in `bytes` with their `lengths`, as one
   * batch handed to the committer at once. Fills out[0] with the first one's sequence and out[1]
   * with how many were staged; returns the error that refused the rest (undefined when none was).
   */
  appendBatch(bytes: Uint8Array, lengths: Uint32Array, count: number, out: Float64Array): unknown;
  requestSync(): number;
  /** Fills [acked, durable, lastAssigned, failed, closed]. */
  progress(out: Float64Array): void;
  failure(): unknown;
  listen(onProgress: () => void): void;
  ref(): void;
  unref(): void;
  read(seq: number): Promise<Buffer>;
  readRange(from: number, maxBytes: number): Promise<[Buffer, Float64Array]>;
  truncate(before: number): Promise<void>;
  close(): Promise<void>;
  info(): NativeInfo;
}

export interface NativeModule {
  open(dir: string, options: ResolvedOptions): Promise<NativeWal>;
  attach(id: number): NativeWal;
  crc32c(bytes: Uint8Array): number;
  crc32cImplementation: string;
  /** The planted bug this build carries (native/plants.json, scripts/build-planted.sh); null when real. */
  planted: string | null;
}

let loaded: NativeModule | undefined;

/** The addon file this process loads. */
export function nativeAddonFile(): string {
  return path.join(nativeBuildDir(), 'Release', 'powercut_wal.node');
}

// The addon, loaded on first use so that importing the WAL module never throws.
export function nativeModule(): NativeModule {
  if (loaded !== undefined) return loaded;
  const file = nativeAddonFile();
  try {
    loaded = createRequire(import.meta.url)(file) as NativeModule;
  } catch (cause) {
    throw new WalError('WAL_NATIVE_MISSING', `cannot load the WAL's native addon ${file}: run 'pnpm build:native'`, { cause });
  }
  return loaded;
}
