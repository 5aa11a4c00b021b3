import { describe, expect, it } from 'vitest';
import { guestConf, jobScript, parseKernelDependency, parseShowDepends, qemuArgs, shellQuote } from '../../src/vm/index.js';

describe('microVM argument and script building', () => {
  it('resolves the kernel package behind linux-image-amd64 without pinning it', () => {
    expect(parseKernelDependency('linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n')).toBe('linux-image-6.1.0-56-amd64');
    expect(parseKernelDependency('linux-image-amd64\n')).toBeUndefined();
  });

  it('turns modprobe --show-depends into ordered, deduplicated relative paths, skipping built-ins', () => {
    const dir = '/c/lib/modules/6.1.0-56-amd64';
    const seen = new Set<string>();
    expect(parseShowDepends(`insmod ${dir}/kernel/a.ko \ninsmod ${dir}/kernel/b.ko \n`, dir, seen)).toEqual(['kernel/a.ko', 'kernel/b.ko']);
    expect(parseShowDepends(`builtin crc32c\ninsmod ${dir}/kernel/a.ko \ninsmod ${dir}/kernel/c.ko`, dir, seen)).toEqual(['kernel/c.ko']);
  });

  it('quotes words for sh only when needed, including embedded single quotes', () => {
    expect(shellQuote('node_modules/.bin/vitest')).toBe('node_modules/.bin/vitest');
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
  });

  it('writes a job script with env, cwd, the command and a status that survives the pipe', () => {
    const s = jobScript({ argv: ['sh', '-c', 'exit 3'], cwd: '/work/main', env: { DM_DISABLE_UDEV: '1', X: 'a b' } });
    expect(s).toContain("export X='a b'\n");
    expect(s).toContain('cd /work/main\n');
    expect(s).toContain("{ sh -c 'exit 3'; echo $? > /run/powercut-status; } 2>&1 </dev/null | cat\n");
    expect(s.trimEnd().endsWith('exit "$(cat /run/powercut-status)"')).toBe(true);
    expect(() => jobScript({ argv: ['true'], cwd: '/', env: { 'BAD-NAME': '1' } })).toThrow(/not valid/);
  });

  it('refuses share paths that would break 9p options or the shell', () => {
    expect(guestConf(['/work/main', '/var/results'], '/c/lib/modules/6.1')).toBe("SHARES='/work/main /var/results'\nKMODDIR=/c/lib/modules/6.1\n");
    expect(() => guestConf(['/a,b'], '/k')).toThrow(/plain absolute/);
    expect(() => guestConf(['relative'], '/k')).toThrow(/plain absolute/);
  });

  it('boots under TCG, never KVM, with the root read-only and each share read-write', () => {
    const args = qemuArgs({ vmlinuz: '/k', initramfs: '/i', jobDir: '/j', shares: ['/p'], memoryMb: 2048, cpus: 2 });
    expect(args.join(' ')).toContain('-accel tcg,thread=multi -cpu max -smp 2 -m 2048');
    expect(args.join(' ')).not.toContain('kvm');
    expect(args).toContain('local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap');
    expect(args).toContain('local,path=/p,mount_tag=share0,security_model=none,multidevs=remap');
  });
});
