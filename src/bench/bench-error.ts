// The one error family of the throughput suite. A caller branches on `code`; the CLI prints the
// message and exits 2 for BAD_OPTION (a usage error) and 1 for the rest.
export type BenchErrorCode =
  | 'BAD_OPTION' // a command-line value that cannot be right
  | 'PARSE_FAILED' // a peer tool printed something we could not read
  | 'PEER_FAILED' // a peer ran and failed
  | 'CELL_TIMEOUT' // a cell's slice did not finish in time (a hang); the run goes on without it
  | 'SETUP_FAILED'; // a filesystem or work directory could not be prepared

export class BenchError extends Error {
  override readonly name = 'BenchError';
  constructor(
    readonly code: BenchErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
