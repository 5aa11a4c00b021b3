import { describe, expect, it } from 'vitest';
import { formatPromise } from '../../src/targets/contract.js';
import { parsePgSetting, pgSettingConf, pgSettingName, postgresTarget, WAL_DEVICE_SUFFIX } from '../../src/targets/postgres.js';
import { BUILTIN_TARGETS, forLogWrites, selectSettings, selectTarget } from '../../src/targets/registry.js';
import { settingFlakeyOnly } from '../../src/targets/target.js';
import { TARGET_RECORD_ACKS, TARGET_RECORD_WINDOWS, targetRecordSpec } from '../../src/crash/target/log-writes-mode.js';

// The postgres target's settings matrix and the contract each setting gets from PostgreSQL's
// documentation (src/targets/postgres.ts); the server itself is exercised in the microVM
// (test/integration/crashtest-target-postgres.test.ts).

const contractOf = (name: string) => postgresTarget.settings.find((s) => s.name === name)?.contract;

describe('postgres target settings', () => {
  it('is the full matrix: synchronous_commit x fsync x full_page_writes x wal_sync_method x pg_wal on one device or two, names round-trip', () => {
    expect(postgresTarget.settings).toHaveLength(48);
    expect(new Set(postgresTarget.settings.map((s) => s.name)).size).toBe(48);
    for (const s of postgresTarget.settings) {
      const parsed = parsePgSetting(s.name);
      expect(parsed, s.name).toBeDefined();
      expect(pgSettingName(parsed!)).toBe(s.name);
    }
    expect(parsePgSetting('sc-on.fsync-on.fpw-on.fdatasync2')).toBeUndefined();
    expect(parsePgSetting(`sc-on.fsync-on.fpw-on.fdatasync${WAL_DEVICE_SUFFIX}${WAL_DEVICE_SUFFIX}`)).toBeUndefined();
    expect(parsePgSetting(`sc-on.fsync-on.fpw-on${WAL_DEVICE_SUFFIX}`)).toBeUndefined();
    expect(parsePgSetting('sc-maybe.fsync-on.fpw-on.fsync')).toBeUndefined();
  });

  it('contracts: durable with everything on, a 3 x wal_writer_delay window for synchronous_commit off, nothing and may corrupt for fsync or full_page_writes off', () => {
    for (const m of ['fdatasync', 'open_datasync', 'fsync']) {
      expect(contractOf(`sc-on.fsync-on.fpw-on.${m}`)).toMatchObject({ promise: { kind: 'durable' }, mayCorrupt: false });
      expect(formatPromise(contractOf(`sc-off.fsync-on.fpw-on.${m}`)!.promise)).toBe('window:600');
      expect(contractOf(`sc-off.fsync-on.fpw-on.${m}`)?.mayCorrupt).toBe(false);
      for (const sc of ['on', 'off']) {
        expect(contractOf(`sc-${sc}.fsync-off.fpw-on.${m}`)).toMatchObject({ promise: { kind: 'none' }, mayCorrupt: true });
        expect(contractOf(`sc-${sc}.fsync-on.fpw-off.${m}`)).toMatchObject({ promise: { kind: 'none' }, mayCorrupt: true });
      }
    }
    expect(contractOf('sc-off.fsync-on.fpw-on.fdatasync')?.cite).toBe('https://www.postgresql.org/docs/15/wal-async-commit.html');
  });

  it('pg_wal on a second device: two devices, the contract of the same setting on one, and dm-flakey only', () => {
    for (const one of postgresTarget.settings.filter((s) => s.devices === undefined)) {
      const two = postgresTarget.settings.find((s) => s.name === `${one.name}${WAL_DEVICE_SUFFIX}`);
      expect(two?.devices, one.name).toBe(2);
      expect(two?.contract).toEqual(one.contract);
      expect(parsePgSetting(two!.name)?.walDevice).toBe(true);
      expect(parsePgSetting(one.name)?.walDevice).toBe(false);
      expect(settingFlakeyOnly(one)).toBeUndefined();
      expect(settingFlakeyOnly(two!)).toMatch(/two devices, which have dm-flakey power cuts only/);
    }
    expect(pgSettingConf(parsePgSetting(`sc-on.fsync-on.fpw-on.fsync${WAL_DEVICE_SUFFIX}`)!)).toEqual(
      pgSettingConf(parsePgSetting('sc-on.fsync-on.fpw-on.fsync')!),
    );
  });

  it('writes each parameter of the setting to postgresql.conf', () => {
    expect(pgSettingConf(parsePgSetting('sc-off.fsync-on.fpw-off.open_datasync')!)).toEqual([
      'synchronous_commit = off',
      'fsync = on',
      'full_page_writes = off',
      'wal_sync_method = open_datasync',
      'wal_writer_delay = 200ms',
    ]);
  });

  it('runs its five default settings without --settings (one with pg_wal on a second device), all 48 with --settings all', () => {
    const defaults = selectSettings(postgresTarget, undefined).map((s) => s.name);
    expect(defaults).toEqual([...(postgresTarget.defaultSettings ?? [])]);
    expect(defaults).toHaveLength(5);
    expect(
      selectSettings(postgresTarget, undefined)
        .filter((s) => s.devices === 2)
        .map((s) => s.name),
    ).toEqual([`sc-on.fsync-on.fpw-on.fdatasync${WAL_DEVICE_SUFFIX}`]);
    expect(new Set(defaults.map((n) => formatPromise(contractOf(n)!.promise)))).toEqual(new Set(['durable', 'window:600', 'none']));
    expect(selectSettings(postgresTarget, 'all')).toHaveLength(48);
    expect(() => selectSettings(postgresTarget, 'sc-on')).toThrow(/unknown postgres setting "sc-on"/);
  });

  it('records 8 acknowledgements per recording, synchronous_commit off until they span 4 windows', () => {
    const selection = selectTarget({
      target: 'postgres',
      settings: 'sc-on.fsync-on.fpw-on.fdatasync,sc-off.fsync-on.fpw-on.fdatasync,sc-off.fsync-off.fpw-on.fdatasync',
    });
    const spec = (setting: string) => targetRecordSpec({ fs: 'ext4', seed: 14 }, selection, setting, 0);
    for (const s of selection.settings) expect(spec(s.name).acks, s.name).toBe(8);
    // synchronous_commit off records on until its acknowledgements span 4 windows; fsync off promises nothing.
    expect(spec('sc-off.fsync-on.fpw-on.fdatasync').minSpanMs).toBe(TARGET_RECORD_WINDOWS * 600);
    expect(spec('sc-on.fsync-on.fpw-on.fdatasync').minSpanMs).toBeUndefined();
    expect(spec('sc-off.fsync-off.fpw-on.fdatasync').minSpanMs).toBeUndefined();
    // A target without its own count records the harness's.
    expect(targetRecordSpec({ fs: 'ext4', seed: 14 }, selectTarget({ target: 'sqlite', settings: 'wal-full' }), 'wal-full', 0).acks).toBe(TARGET_RECORD_ACKS);
  });

  it('log-writes leaves the pg_wal-on-a-second-device defaults out (saying so) and refuses one named', () => {
    const said: string[] = [];
    const defaults = forLogWrites(selectTarget({ target: 'postgres' }), false, (why) => said.push(why));
    expect(defaults.settings.map((s) => s.name)).toEqual((postgresTarget.defaultSettings ?? []).filter((n) => !n.endsWith(WAL_DEVICE_SUFFIX)));
    expect(said).toEqual([expect.stringMatching(/two devices/)]);
    const named = selectTarget({ target: 'postgres', settings: `sc-on.fsync-on.fpw-on.fdatasync${WAL_DEVICE_SUFFIX}` });
    expect(() => forLogWrites(named, true, () => undefined)).toThrow(/two devices/);
    // Every built-in target's defaults keep a setting that log-writes recordings can take.
    for (const t of BUILTIN_TARGETS) expect(forLogWrites(selectTarget({ target: t.name }), false, () => undefined).settings.length, t.name).toBeGreaterThan(0);
  });
});
