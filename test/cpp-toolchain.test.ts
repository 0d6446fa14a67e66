/**
 * The modelled toolchain (gcc 12.2 + binutils 2.40) answers Kconfig's and
 * the Makefiles' toolchain probes without running anything. This oracle
 * test runs every probe the built-in trees make against the installed
 * toolchain and requires the same answers, so the model cannot drift from
 * the compiler it claims to be.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { kbuildFlags } from '../src/kbuild/kbuild-flags.js';
import { configure, readKconfig } from '../src/kbuild/kconfig/index.js';
import { GCC12_TOOLCHAIN, type Toolchain } from '../src/kbuild/kconfig/toolchain.js';
import { DirFs } from '../src/support/vfs.js';
import { hasCommand, IN_CI, requireOracle } from './support/oracles.js';
import { treePath } from './support/kernel.js';

const ok = requireOracle('gcc, as, ld', hasCommand('gcc') && hasCommand('as') && hasCommand('ld'), 'apt-get install gcc binutils');

interface Probe {
  kind: 'cc-option' | 'as-instr' | 'ld-option' | 'command';
  arg: string;
  answer: boolean;
}

function recording(into: Probe[]): Toolchain {
  const t = GCC12_TOOLCHAIN;
  return {
    ...t,
    ccOption: (f) => {
      const a = t.ccOption(f);
      into.push({ kind: 'cc-option', arg: f, answer: a });
      return a;
    },
    asInstr: (x) => {
      const a = t.asInstr(x);
      into.push({ kind: 'as-instr', arg: x, answer: a });
      return a;
    },
    ldOption: (f) => {
      const a = t.ldOption(f);
      into.push({ kind: 'ld-option', arg: f, answer: a });
      return a;
    },
    command: (c) => {
      const r = t.command(c);
      if (r && /^echo '.*' \| /.test(c)) into.push({ kind: 'command', arg: c, answer: r.ok });
      return r;
    },
  };
}

function realAnswer(p: Probe, tmp: string): boolean {
  const sh = (cmd: string): boolean => spawnSync('bash', ['-c', cmd], { cwd: tmp, stdio: 'ignore', env: { ...process.env, CC: 'gcc', LC_ALL: 'C' } }).status === 0;
  switch (p.kind) {
    case 'cc-option':
      return spawnSync('gcc', ['-Werror', ...p.arg.split(/\s+/).filter(Boolean), '-c', '-x', 'c', '/dev/null', '-o', path.join(tmp, 'tmp.o')], { stdio: 'ignore' }).status === 0;
    case 'as-instr':
      // Kconfig.include: printf "%b\n" "$(1)" | $(CC) $(2) -Wa,--fatal-warnings -c -x assembler-with-cpp -o /dev/null -
      return sh(`printf "%b\\n" "${p.arg}" | gcc -m64 -Wa,--fatal-warnings -c -x assembler-with-cpp -o /dev/null -`);
    case 'ld-option':
      return spawnSync('ld', ['-v', p.arg], { stdio: 'ignore' }).status === 0;
    case 'command':
      return sh(p.arg);
  }
}

describe.skipIf(!ok)('modelled toolchain vs the installed one', () => {
  it('answers every probe of the built-in trees like gcc 12.2 / binutils 2.40', () => {
    const version = spawnSync('gcc', ['-dumpfullversion'], { encoding: 'utf8' }).stdout.trim();
    if (!version.startsWith('12.')) {
      const msg = `installed gcc ${version} is not gcc 12, the modelled toolchain; probe answers are not compared`;
      if (IN_CI) throw new Error(msg);
      console.warn(`\n*** ${msg} ***\n`);
      return;
    }
    const probes: Probe[] = [];
    for (const name of ['linux-6.1', 'linux-6.12'] as const) {
      // A fresh DirFs so the Kconfig cache does not hide the probes.
      const tree = new DirFs(treePath(name));
      const tc = recording(probes);
      readKconfig(tree, tc);
      const c = configure(tree, 'default');
      kbuildFlags(tree, c.values, tc, 'arch/x86/virt/vmx/tdx/tdxcall.S');
    }
    const unique = [...new Map(probes.map((p) => [`${p.kind}\0${p.arg}`, p])).values()];
    expect(unique.filter((p) => p.kind === 'cc-option').length).toBeGreaterThan(10);
    expect(unique.filter((p) => p.kind === 'as-instr').length).toBeGreaterThan(3);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-probe-'));
    try {
      const wrong = unique.filter((p) => realAnswer(p, tmp) !== p.answer).map((p) => `${p.kind} ${JSON.stringify(p.arg)}: model says ${p.answer}`);
      expect(wrong).toEqual([]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
