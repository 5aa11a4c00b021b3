import { isDeepStrictEqual } from 'node:util';
import type { Coverage } from '../../dm/log-writes/index.js';
import { CrashError } from '../crash-error.js';
import type { RecordingMeta } from '../record/session.js';
import { summariseStates, type StateResult, type StatesSummary } from './check-report.js';
import { ResultStore, type StoreHeader } from './result-store.js';

// `pnpm fuzz merge DIR...`: the stores of the shards of one campaign (`--shard I/N --store DIR`,
// one per machine, a CI matrix job or a Kubernetes Indexed Job pod) combined into the report an
// unsharded run gives: every state's result, in the order of the whole enumeration (which every
// shard's header lists), through the same summary. Refused when the shards disagree on the
// enumeration or the checker, or when a state has no result in any of the stores.

/** One recording's campaign as the stores together tell it. */
export interface MergedRecording extends StatesSummary {
  recording: string;
  recordingHash: string;
  meta: RecordingMeta;
  coverage: Coverage;
  checker: string;
  /** The shards found, as "I/N" (or "all" for an unsharded store). */
  shards: string[];
}

/** Merge the stores in `dirs`: one entry per recording, ordered by recording name. */
export function mergeStores(dirs: readonly string[]): MergedRecording[] {
  const groups = new Map<string, { header: StoreHeader; stores: ResultStore[]; shards: Set<string> }>();
  for (const dir of dirs) {
    const store = new ResultStore(dir);
    const headers = store.headers();
    if (headers.length === 0) throw new CrashError('BAD_OPTION', `${dir} holds no results (a store is made by pnpm fuzz --check DIR --store ${dir})`);
    for (const header of headers) {
      const group = groups.get(header.recordingHash);
      const shard = header.shard === null ? 'all' : `${header.shard.index}/${header.shard.count}`;
      if (group === undefined) {
        groups.set(header.recordingHash, { header, stores: [store], shards: new Set([shard]) });
        continue;
      }
      for (const field of ['checker', 'states', 'enumerate'] as const) {
        if (!isDeepStrictEqual(group.header[field], header[field]))
          throw new CrashError(
            'BAD_OPTION',
            `${header.recording}: the store in ${dir} has another ${field} than ${group.stores[0]?.dir} (not shards of one campaign)`,
          );
      }
      group.stores.push(store);
      group.shards.add(shard);
    }
  }
  const merged: MergedRecording[] = [];
  for (const { header, stores, shards } of groups.values()) {
    const results = new Map<string, StateResult>();
    for (const store of stores) for (const [id, result] of store.known(header.recording, header.recordingHash, header.checker)) results.set(id, result);
    const missing = header.states.filter((id) => !results.has(id));
    if (missing.length > 0) {
      throw new CrashError(
        'BAD_OPTION',
        `${header.recording}: ${missing.length} of ${header.states.length} states have no result in these stores (shards found: ${[...shards].sort().join(', ')}; first missing: ${missing[0]})`,
      );
    }
    merged.push({
      recording: header.recording,
      recordingHash: header.recordingHash,
      meta: header.meta,
      coverage: header.coverage,
      checker: header.checker,
      shards: [...shards].sort(),
      ...summariseStates(header.states.map((id) => results.get(id) as StateResult)),
    });
  }
  return merged.sort((a, b) => (a.recording < b.recording ? -1 : a.recording > b.recording ? 1 : 0));
}
