/**
 * Robustness corpus, class 6 (issue 18): emulation that lies. A `syscall`
 * inside the function ran as a no-op and the run said ok; `hlt` after a
 * few instructions was reported as "runaway: over 1000000 instructions".
 * Now every instruction the machine does not model ends the run with its
 * own stop reason, named, at its source line (src/machine/code-scan.ts;
 * machine-level cases, both modes, in test/machine-unmodelled.test.ts).
 * Positions are computed from the cached tree: the line of the statement
 * the patch inserts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { insertAfter, treePatch } from '../support/patches.js';
import { treePath } from '../support/kernel.js';
import { caseDirs, expectBounded, runCli } from './harness.js';

const dir = caseDirs('emulation');
const TDCALL = 'arch/x86/coco/tdx/tdcall.S';
const anchor = /^\tFRAME_BEGIN/;
// The inserted statement goes right after the first FRAME_BEGIN (in __tdx_module_call).
const line = fs.readFileSync(path.join(treePath('linux-6.1'), TDCALL), 'utf8').split('\n').findIndex((l) => anchor.test(l)) + 2;

const cases: [string, string, string][] = [
  ['syscall', 'syscall', "it enters the kernel's system-call entry (IA32_LSTAR); the machine has no system-call entry points or user mode"],
  ['hlt', 'hlt', 'it halts the CPU until an interrupt arrives; the machine models no interrupts'],
  ['wrmsr', 'wrmsr', 'it writes the MSR named by ECX; the machine has no model-specific registers'],
  ['cli', 'cli', 'it masks interrupts (clears IF); the machine models no interrupts'],
  ['outb %al, $0x80', 'out', 'it writes an I/O port; the machine has no I/O ports or devices'],
];

describe('class 6: instructions the machine does not model', () => {
  for (const [insn, mnemonic, why] of cases) {
    it(`${insn} in __tdx_module_call ends the run there, named, exit 1`, () => {
      const patch = treePatch('linux-6.1', TDCALL, (t) => insertAfter(t, anchor, [`\t${insn}`]), `${mnemonic}.patch`);
      const cwd = dir();
      const r = runCli(['run', `linux-6.1+${patch}`, '--fn', '__tdx_module_call', '--scenario', 'vp-info', '--details'], { cwd });
      expectBounded(r);
      expect(r.status).toBe(1);
      const end = r.stdout.split('\n').find((l) => l.startsWith('  end '))!;
      expect(end).toMatch(new RegExp(`^ {2}end +unmodelled instruction ${mnemonic} at __tdx_module_call\\+0x[0-9a-f]+ ${TDCALL}:${line}: .*\\(${why.replace(/[()]/g, '\\$&')}\\)$`));
      expect(r.stdout).toMatch(/^1 run: 1 unmodelled; /m);
      expect(fs.readdirSync(cwd)).toEqual([]);
    });
  }
});
