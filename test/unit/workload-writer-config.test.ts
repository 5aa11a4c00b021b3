import { describe, expect, it } from 'vitest';
import { parseWriterConfig, WRITER_DEFAULTS, WriterConfigError } from '../../src/workload/writer-config.js';

const base = { dir: '/tmp/x', strategy: 'fdatasync', seed: 1 };

describe('writer configuration', () => {
  it('fills defaults for everything but dir, strategy and seed', () => {
    expect(parseWriterConfig(base)).toEqual({ ...WRITER_DEFAULTS, ...base });
  });

  it.each([
    [{ ...base, strategy: 'fsync2' }, /strategy must be one of/],
    [{ ...base, dir: '' }, /dir must be/],
    [{ ...base, writers: 0 }, /writers must be an integer/],
    [{ ...base, minPayload: 10, maxPayload: 5 }, /exceeds maxPayload/],
    [{ ...base, segmentSize: 65 * 1024 + 1 }, /multiple of 4096/],
    [{ ...base, segmentSize: 64 * 1024, maxPayload: 64 * 1024 }, /does not fit/],
    [{ ...base, strategy: 'none', groupCommit: true }, /group commit applies/],
    [{ ...base, continueAfterFailure: 'yes' }, /must be a boolean/],
    [[1, 2], /JSON object/],
  ])('rejects %j', (value, message) => {
    expect(() => parseWriterConfig(value)).toThrow(WriterConfigError);
    expect(() => parseWriterConfig(value)).toThrow(message);
  });
});
