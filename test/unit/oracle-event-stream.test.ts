import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventError, formatEvent, markLabel, parseEvents, payloadDigest, writeEvent, type WorkloadEvent } from '../../src/workload/events.js';

const digest = payloadDigest(Buffer.from('hello'));
const history: WorkloadEvent[] = [
  { type: 'started', strategy: 'periodic', groupCommit: true, periodMs: 10, pid: 42, workload: { writers: 2 } },
  { type: 'appended', seq: 1, digest, size: 5 },
  { type: 'acked', seq: 1, t: 1.5 },
  { type: 'durable', seq: 1 },
  { type: 'truncating', beforeSeq: 1 },
  { type: 'truncated', beforeSeq: 1 },
  { type: 'failed', seq: 2, code: 'WAL_IO', message: 'EIO' },
  { type: 'failed', code: 'WAL_CLOSED', message: 'closed' },
];

describe('event stream', () => {
  it('payloadDigest is the sha256 hex of the payload', () => {
    expect(digest).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
  });

  it('round-trips every event type', () => {
    const text = history.map(formatEvent).join('');
    expect(parseEvents(text)).toEqual({ events: history, tornTail: null });
  });

  it('writeEvent writes whole lines synchronously to a file descriptor', () => {
    const dir = mkdtempSync(join(tmpdir(), 'powercut-events-'));
    try {
      const file = join(dir, 'events.ndjson');
      const fd = openSync(file, 'w');
      for (const event of history) writeEvent(fd, event);
      // Read before close: the bytes are already in the kernel, which is the point of writeSync.
      const text = readFileSync(file, 'utf8');
      closeSync(fd);
      expect(parseEvents(text).events).toEqual(history);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tolerates a torn final line and reports it', () => {
    const full = formatEvent({ type: 'acked', seq: 7 });
    const text = formatEvent({ type: 'appended', seq: 7, digest, size: 5 }) + full.slice(0, 9);
    const parsed = parseEvents(text);
    expect(parsed.events).toHaveLength(1);
    expect(parsed.tornTail).toBe(full.slice(0, 9));
  });

  it('accepts a complete final event without its newline', () => {
    const parsed = parseEvents('{"type":"acked","seq":3}');
    expect(parsed).toEqual({ events: [{ type: 'acked', seq: 3 }], tornTail: null });
  });

  it('rejects garbage before the last line, naming the line', () => {
    const text = `${formatEvent({ type: 'acked', seq: 1 })}{"type":"ack\n${formatEvent({ type: 'acked', seq: 2 })}`;
    expect(() => parseEvents(text)).toThrowError(/event line 2 is not JSON/);
    try {
      parseEvents(text);
    } catch (error) {
      expect(error).toBeInstanceOf(EventError);
      expect((error as EventError).code).toBe('EVENT_MALFORMED_JSON');
      expect((error as EventError).line).toBe(2);
    }
  });

  it.each([
    ['unknown type', '{"type":"exploded"}', /unknown event type/],
    ['negative seq', '{"type":"acked","seq":-1}', /seq must be a non-negative integer/],
    ['fractional seq', '{"type":"durable","seq":1.5}', /seq must be a non-negative integer/],
    ['short digest', '{"type":"appended","seq":1,"digest":"abc","size":1}', /digest must be 64/],
    ['bad strategy', '{"type":"started","strategy":"yolo","groupCommit":false,"periodMs":null,"pid":1}', /strategy must be one of/],
    ['periodic without period', '{"type":"started","strategy":"periodic","groupCommit":false,"periodMs":null,"pid":1}', /periodic strategy needs periodMs/],
    ['failed without code', '{"type":"failed","message":"x"}', /code must be a non-empty string/],
    ['array', '[1,2]', /not a JSON object/],
  ])('rejects an invalid event: %s', (_name, line, message) => {
    const text = `${line}\n${formatEvent({ type: 'acked', seq: 9 })}`;
    expect(() => parseEvents(text)).toThrowError(message);
    try {
      parseEvents(text);
    } catch (error) {
      expect((error as EventError).code).toBe('EVENT_INVALID');
    }
  });

  it('ignores blank lines', () => {
    expect(parseEvents(`\n${formatEvent({ type: 'acked', seq: 1 })}\n\n`).events).toEqual([{ type: 'acked', seq: 1 }]);
  });
});

describe('dm-log-writes mark labels', () => {
  it('labels promise-making events and started truncates (they excuse loss), nothing else', () => {
    expect(history.map(markLabel)).toEqual([null, null, 'ack-1', 'durable-1', 'truncating-1', 'truncated-1', null, null]);
  });
});
