// The target protocol's two line formats (docs/crash/targets.md), parsed in one place:
//   the program, on file descriptor 3, one line per operation:
//     KEY DIGEST      the operation that wrote DIGEST under KEY was acknowledged
//     ~ KEY DIGEST    (optional) the operation is about to start: a survivor that was only
//                     announced is an operation in flight, not a phantom
//   the check, on stdout, after recovery: KEY DIGEST, one line per surviving key.
// KEY and DIGEST are tokens without whitespace; empty lines are ignored.
// In log-writes mode the harness also answers each acknowledgement on file descriptor 4 (named by
// $POWERCUT_MARKED_FD), one line `marked` once the acknowledgement's mark is in the device's log.
// A program that waits for it before going on pins its acknowledgement to that point of the log:
// one that acknowledged before its data was durable then always has a crash state that shows the
// mark without the data. A program that does not read fd 4 is judged by marks that may lag its
// acknowledgements (never wrongly, but a too-early acknowledgement may go unseen).

/**
 * Set, besides $POWERCUT_DATA, for a setting with two devices (TargetSetting.devices): a directory
 * on a second filesystem on a second block device, which the power cut takes at the same instant
 * as the first (src/crash/flakey/device-stack.ts).
 */
export const DATA2_ENV = 'POWERCUT_DATA2';

/** File descriptor the program writes its acknowledgements to. */
export const ACK_FD = 3;

/** File descriptor of the harness's replies in log-writes mode, and the variable that names it. */
export const MARKED_FD = 4;
export const MARKED_FD_ENV = 'POWERCUT_MARKED_FD';
/** The reply: the acknowledgement's mark is in the log. */
export const MARKED_LINE = 'marked';

export type ProgramLine = { kind: 'ack' | 'intent'; key: string; digest: string };

const TOKEN = /^\S+$/;

/** One fd-3 line of the program; null for an empty line; an error message when it does not parse. */
export function parseProgramLine(line: string): ProgramLine | null | { error: string } {
  const parts = line
    .trim()
    .split(/\s+/)
    .filter((p) => p !== '');
  if (parts.length === 0) return null;
  if (parts.length === 3 && parts[0] === '~') return { kind: 'intent', key: parts[1] ?? '', digest: parts[2] ?? '' };
  if (parts.length === 2 && parts[0] !== '~' && parts.every((p) => TOKEN.test(p))) return { kind: 'ack', key: parts[0] ?? '', digest: parts[1] ?? '' };
  return { error: `${JSON.stringify(line.slice(0, 200))} is not "KEY DIGEST" nor "~ KEY DIGEST"` };
}

/** The check's stdout: key -> digest, or the first line that does not parse. */
export function parseCheckOutput(text: string): { ok: true; survivors: Map<string, string> } | { ok: false; message: string } {
  const survivors = new Map<string, string>();
  for (const line of text.split('\n')) {
    const parts = line
      .trim()
      .split(/\s+/)
      .filter((p) => p !== '');
    if (parts.length === 0) continue;
    if (parts.length !== 2) return { ok: false, message: `the check printed ${JSON.stringify(line.slice(0, 200))}, not "KEY DIGEST"` };
    survivors.set(parts[0] ?? '', parts[1] ?? '');
  }
  return { ok: true, survivors };
}
