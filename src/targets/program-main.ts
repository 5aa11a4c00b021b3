import { writeSync } from 'node:fs';
import { leveldbProgram } from './leveldb.js';
import { ACK_FD } from './protocol.js';
import { sqliteProgram } from './sqlite.js';
import type { BuiltinProgram } from './target.js';

// The built-in targets' program, speaking the target protocol like any exec target would:
//   program-main prepare|run|check TARGET SETTING DIR [SEED]
// run writes "~ KEY DIGEST" before and "KEY DIGEST" after each operation to fd 3 and runs until
// killed; check prints KEY DIGEST per survivor on stdout and exits 1 (the reason on stderr) when
// the data is damaged. Bundled for the microVM (src/crash/bundle.ts) beside the writer.

const PROGRAMS: Record<string, BuiltinProgram> = { sqlite: sqliteProgram, leveldb: leveldbProgram };

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
      await program.workload(dir, setting, Number(seedText), { intent: (k, d) => line(`~ ${k} ${d}`), ack: (k, d) => line(`${k} ${d}`) });
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
