import { formatPromise, type TargetPromise } from './contract.js';
import type { Target, TargetSetting } from './target.js';

// Any program (issue 14): `--run CMD` works in $POWERCUT_DATA and writes one line per acknowledged
// operation to fd 3; `--check CMD`, run after recovery, prints KEY DIGEST per surviving key and
// exits non-zero when the data is damaged (docs/crash/targets.md). Its one setting is the promise
// the user states for it: the program's own documentation is theirs to cite.

export interface ExecSpec {
  run: string;
  check: string;
  promise: TargetPromise;
  /** 2: the program also gets $POWERCUT_DATA2 on a second device, cut at the same instant. */
  devices?: 1 | 2;
}

export function execTarget(spec: ExecSpec): Target {
  const two = spec.devices === 2;
  const setting: TargetSetting = {
    name: `${formatPromise(spec.promise)}${two ? '.two-devices' : ''}`,
    contract: { promise: spec.promise, mayCorrupt: false, says: `as stated: --promise ${formatPromise(spec.promise)}`, cite: '--promise' },
    ...(two ? { devices: 2 } : {}),
  };
  const sh = (cmd: string) => ({ argv: ['sh', '-c', cmd], display: cmd });
  return {
    name: 'exec',
    describe: 'any program: --run CMD acknowledges on fd 3, --check CMD prints KEY DIGEST per survivor',
    settings: [setting],
    commands: () => ({ run: sh(spec.run), check: sh(spec.check) }),
  };
}
