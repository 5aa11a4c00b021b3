import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const vagrantDir = join(import.meta.dirname, '..', '..', 'vagrant');
const hasVagrant = spawnSync('sh', ['-c', 'command -v vagrant'], { encoding: 'utf8' }).status === 0;

describe('vagrant/Vagrantfile', () => {
  // No provider and no box can exist here; --ignore-provider still parses and checks the file.
  it.skipIf(!hasVagrant)(
    `passes vagrant validate --ignore-provider${hasVagrant ? '' : ' (skipped: vagrant not installed; apt-get install --no-install-recommends vagrant)'}`,
    () => {
      const out = execFileSync('vagrant', ['validate', '--ignore-provider'], {
        cwd: vagrantDir,
        encoding: 'utf8',
        env: { ...process.env, VAGRANT_CHECKPOINT_DISABLE: '1' },
      });
      expect(out).toMatch(/validated successfully/);
    },
  );
});
