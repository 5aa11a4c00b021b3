// What a target's setting promises about an acknowledged operation after a power cut, and whether
// its documentation allows the data to be damaged. One place for the promise's syntax (the exec
// target's --promise, the settings of the built-in targets) and its meaning (src/oracle/target-verdict.ts).

export type TargetPromise =
  /** every acknowledged operation survives */
  | { kind: 'durable' }
  /** operations acknowledged more than `ms` before the cut survive; later ones may be lost */
  | { kind: 'window'; ms: number }
  /** all but the last `n` acknowledged operations survive (a commit that may still roll back) */
  | { kind: 'last'; n: number }
  /** nothing is promised: any acknowledged operation may be lost */
  | { kind: 'none' };

export interface Contract {
  promise: TargetPromise;
  /** The documentation allows a power cut to leave the data damaged (unopenable, failing its check). */
  mayCorrupt: boolean;
  /** One line of what the documentation says, and where (a URL and the section). */
  says: string;
  cite: string;
}

/** The promise as text: durable, window:MS, last:N, none. */
export function formatPromise(p: TargetPromise): string {
  switch (p.kind) {
    case 'durable':
    case 'none':
      return p.kind;
    case 'window':
      return `window:${p.ms}`;
    case 'last':
      return `last:${p.n}`;
  }
}

/** Parse durable | window:MS | last:N | none; a message on bad input. */
export function parsePromise(text: string): { ok: true; promise: TargetPromise } | { ok: false; message: string } {
  if (text === 'durable' || text === 'none') return { ok: true, promise: { kind: text } };
  const m = /^(window|last):(\d{1,9})$/.exec(text);
  if (m !== null) {
    const n = Number(m[2]);
    if (m[1] === 'window') return { ok: true, promise: { kind: 'window', ms: n } };
    if (n >= 1) return { ok: true, promise: { kind: 'last', n } };
  }
  return { ok: false, message: `--promise ${JSON.stringify(text)} is not one of durable, window:MS (milliseconds), last:N (N >= 1), none` };
}
