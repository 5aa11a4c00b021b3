import { readSync, writeSync } from 'node:fs';
import { leveldbProgram } from './leveldb.js';
import { postgresProgram } from './postgres-program.js';
import { ACK_FD, MARKED_FD_ENV } from './protocol.js';
import { sqliteProgram } from './sqlite.js';
import type { BuiltinProgram } from './target.js';

// The built-in targets' program, speaking the target protocol like any exec target would:
//   program-main prepare|run|check TARGET SETTING DIR [SEED]
// run writes "~ KEY DIGEST" before and "KEY DIGEST" after each operation to fd 3 and runs until
// killed; check prints KEY DIGEST per survivor on stdout and exits 1 (the reason on stderr) when
// the data is damaged. In log-writes mode ($POWERCUT_MARKED_FD set) it waits after each
// acknowledgement for the harness's reply, so the acknowledgement's mark lands in the device's log
// before the workload goes on (src/targets/protocol.ts). Bundled for the microVM
// (src/crash/bundle.ts) beside the writer.

const PROGRAMS: Record<string, BuiltinProgram> = { sqlite: sqliteProgram, leveldb: leveldbProgram, postgres: postgresProgram };

/** Block until the harness's reply line arrives on `fd` (the workload may not go on before it). */
function awaitReply(fd: number): void {
  const byte = Buffer.alloc(1);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, byte, 0, 1, null);
    } catch (error) {
      // The pipe may be non-blocking: wait a little and read again.
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(pause, 0, 0, 1);
      continue;
    }
    if (n === 0) throw new Error('the harness closed the reply pipe');
    if (byte[0] === 0x0a) return;
  }
}

async function main(argv: string[]): Promise<number> {
  const [verb, name = '', setting = '', dir = '', seedText = '0'] = argv;
  const program = PROGRAMS[name];
  if (program === undefined || dir === '') {
    process.stderr.write(`usage: program-main prepare|run|check ${Object.keys(PROGRAMS).join('|')} SETTING DIR [SEED]\n`);
    return 2;
  }
  switch (verb) {
    case 'prepare':
      await program.prepare(dir, setting);
      return 0;
    case 'run': {
      const line = (text: string) => writeSync(ACK_FD, `${text}\n`);
      const replyFd = process.env[MARKED_FD_ENV] === undefined ? undefined : Number(process.env[MARKED_FD_ENV]);
      const ack = (k: string, d: string) => {
        line(`${k} ${d}`);
        if (replyFd !== undefined) awaitReply(replyFd);
      };
      await program.workload(dir, setting, Number(seedText), { intent: (k, d) => line(`~ ${k} ${d}`), ack, marked: replyFd !== undefined });
      return 0;
    }
    case 'check': {
      const { survivors, damage } = await program.check(dir, setting);
      process.stdout.write([...survivors].map(([k, d]) => `${k} ${d}\n`).join(''));
      if (damage !== null) process.stderr.write(`${damage}\n`);
      return damage === null ? 0 : 1;
    }
  }
  process.stderr.write(`program-main: unknown verb ${verb ?? ''}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(2);
  },
);
