// worker_threads do not inherit tsx's loader in Node 20: register it in the worker, then load the
// TypeScript writer. (Production code compiled to JS would start the worker on its file directly.)
import { register } from 'tsx/esm/api';

register();
await import('./wal-worker-writer.ts');
