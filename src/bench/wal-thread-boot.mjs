// worker_threads do not inherit tsx's loader on Node 20: register it here, then load the
// TypeScript writer (the same arrangement as test/addon/wal-worker-boot.mjs).
import { register } from 'tsx/esm/api';

register();
await import('./wal-thread-writer.ts');
