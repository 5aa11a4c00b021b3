import type { PeerCell, PeerName } from '../cell.js';
import type { Slice } from '../slice.js';
import type { SliceContext } from '../slice-context.js';

// Whether a peer can run here; a missing tool is a skip with its reason, never a failure.
export type Readiness = { status: 'ready' } | { status: 'skipped'; reason: string };

// One peer on one filesystem: prepare once (compile, start a server), measure slices, close.
export interface PeerDriver {
  readonly peer: PeerName;
  /** What the peer's figure means, for the report (its own caveats). */
  readonly describe: string;
  prepare(): Promise<Readiness>;
  slice(cell: PeerCell, ctx: SliceContext): Promise<Slice>;
  close(): Promise<void>;
}
