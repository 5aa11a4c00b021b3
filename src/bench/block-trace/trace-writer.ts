// The subject of a block trace: `node trace-writer.mjs '<TraceWriterConfig json>'`, a WAL making
// `commits` acknowledged 4 KiB commits when told to, so the driver (run.ts) can start the
// tracers before the first and stop them after the last. Line protocol on stdin/stdout:
//   -> "ready"            the WAL is open and has made one commit (its lazy set-up is done)
//   <- "go"               the tracers run: make the commits
//   -> "done <acked>"     every commit acknowledged (periodic: and covered by the durable watermark)
//   <- "close"            the tracers stopped: close the WAL and exit 0
// Each commit of writer 0 is framed by a stat of /powercut-commit-begin-<i> and -end-<i> (ENOENT
// is the point): under strace those two calls delimit one commit's syscalls.
import { statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { groupCommitApplies, isStrategy } from '../../strategy/index.js';
import { Wal } from '../../wal/index.js';
import { commitMarkPath, type TraceWriterConfig } from './trace-protocol.js';

function mark(path: string): void {
  try {
    statSync(path);
  } catch {
    // The marker does not exist: the syscall is the mark.
  }
}

function parseConfig(raw: unknown): TraceWriterConfig {
  const c = raw as Partial<TraceWriterConfig> | null;
  const int = (v: unknown, min: number) => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
  if (c === null || typeof c !== 'object' || typeof c.dir !== 'string' || !isStrategy(c.strategy) || typeof c.groupCommit !== 'boolean')
    throw new Error('config needs dir, strategy, groupCommit');
  if (c.groupCommit && !groupCommitApplies(c.strategy)) throw new Error(`group commit does not apply to ${c.strategy}`);
  for (const k of ['commits', 'writers', 'payloadBytes', 'segmentSize', 'periodMs'] as const)
    if (!int(c[k], 1)) throw new Error(`${k} must be a positive integer`);
  return c as TraceWriterConfig;
}

async function main(): Promise<void> {
  const config = parseConfig(JSON.parse(process.argv[2] ?? 'null'));
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const expect = async (word: string) => {
    const next = await lines.next();
    if (next.done === true || next.value.trim() !== word) throw new Error(`expected "${word}" on stdin`);
  };
  const wal = await Wal.open(config.dir, {
    strategy: config.strategy,
    groupCommit: config.groupCommit,
    segmentSize: config.segmentSize,
    ...(config.strategy === 'periodic' ? { periodMs: config.periodMs } : {}),
  });
  const payload = Buffer.alloc(config.payloadBytes, 0x5a);
  await wal.append(payload);
  await wal.sync();
  process.stdout.write('ready\n');
  await expect('go');
  let acked = 0;
  let last = 0;
  const perWriter = Math.ceil(config.commits / config.writers);
  await Promise.all(
    Array.from({ length: config.writers }, async (_, w) => {
      for (let i = 0; i < perWriter && acked < config.commits; i++) {
        if (w === 0) mark(commitMarkPath('begin', i));
        last = Math.max(last, await wal.append(payload));
        acked++;
        if (w === 0) mark(commitMarkPath('end', i));
      }
    }),
  );
  // periodic promises durability at the watermark: its commits count once it covers them.
  if (config.strategy === 'periodic') await wal.waitDurable(last);
  process.stdout.write(`done ${acked}\n`);
  await expect('close');
  await wal.close();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`trace-writer: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
