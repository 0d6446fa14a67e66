/**
 * A wider net than the TDX files: every .S under several arch/x86
 * directories of both trees, preprocessed by seamlab's cpp, assembled by
 * seamlab and by GNU as 2.40. For every allocated section, the size and
 * every byte outside GNU's relocation fields must be identical (relocated
 * fields are checked by the linked oracle tests; non-allocated sections
 * such as objtool's .discard.* are not part of an image). A file seamlab cannot assemble must fail with a
 * SeamlabError (e.g. AVX-512, .altmacro, .code32) — never differ silently,
 * never crash.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { preprocess } from '../src/cpp/index.js';
import { isSeamlabError } from '../src/errors.js';
import { assemble } from '../src/gas/assemble.js';
import { writeObject } from '../src/gas/write.js';
import { resolveRevision } from '../src/intake/revision.js';
import { hasCommand, requireOracle } from './support/oracles.js';

const HAVE = requireOracle('GNU as/objcopy/readelf', hasCommand('as') && hasCommand('objcopy') && hasCommand('readelf'), 'apt-get install binutils');
const DIRS = ['arch/x86/entry', 'arch/x86/lib', 'arch/x86/kernel', 'arch/x86/mm', 'arch/x86/power', 'arch/x86/crypto', 'arch/x86/kvm/vmx', 'arch/x86/kvm/svm', 'arch/x86/coco/tdx', 'arch/x86/virt/vmx/tdx'];

function run(cmd: string, args: string[]) {
  return spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
}

/** GNU as's sections (non-allocated ones too) and the byte offsets its relocations will patch. */
function gnuObject(dir: string, text: string): { sections: Map<string, Uint8Array>; relocated: Map<string, Set<number>> } | undefined {
  writeFileSync(join(dir, 'a.s'), text);
  if (run('as', ['--64', '-o', join(dir, 'a.o'), join(dir, 'a.s')]).status !== 0) return undefined;
  const relocated = new Map<string, Set<number>>();
  let cur: Set<number> | undefined;
  for (const line of run('readelf', ['-rW', join(dir, 'a.o')]).stdout.split('\n')) {
    const sec = /Relocation section '\.rela(.*)'/.exec(line);
    if (sec) relocated.set(sec[1]!, (cur = new Set()));
    const r = /^([0-9a-f]+)\s+[0-9a-f]+\s+R_X86_64_(\S+)/.exec(line);
    if (r && cur) {
      const width = r[2] === '64' || r[2] === 'PC64' ? 8 : r[2] === '8' || r[2] === 'PC8' ? 1 : r[2] === '16' || r[2] === 'PC16' ? 2 : 4;
      for (let i = 0; i < width; i++) cur.add(parseInt(r[1]!, 16) + i);
    }
  }
  const sections = new Map<string, Uint8Array>();
  for (const line of run('readelf', ['-SW', join(dir, 'a.o')]).stdout.split('\n')) {
    const m = /^\s*\[\s*\d+\]\s+(\S+)\s+PROGBITS\s/.exec(line);
    if (!m) continue;
    run('objcopy', ['-O', 'binary', `--only-section=${m[1]}`, `--set-section-flags=${m[1]}=alloc,load,contents`, join(dir, 'a.o'), join(dir, 's.bin')]);
    sections.set(m[1]!, new Uint8Array(readFileSync(join(dir, 's.bin'))));
  }
  return { sections, relocated };
}

describe.skipIf(!HAVE)('arch/x86 .S corpus: seamlab = GNU as outside relocations', () => {
  for (const name of ['linux-6.1', 'linux-6.12'] as const) {
    it(name, () => {
      const rev = resolveRevision(name);
      const tree = rev.provenance.base.dir;
      const files = DIRS.flatMap((d) => {
        try {
          return readdirSync(join(tree, d)).filter((f) => f.endsWith('.S')).map((f) => `${d}/${f}`);
        } catch {
          return [];
        }
      });
      const dir = mkdtempSync(join(tmpdir(), 'seamlab-corpus-'));
      const tally = { identical: 0, refused: 0, notComparable: 0 };
      const refused: string[] = [];
      try {
        for (const file of files) {
          let src;
          try {
            src = preprocess(rev.files, file, { profile: 'default' });
          } catch {
            tally.notComparable++; // the preprocessor's own tests cover this file
            continue;
          }
          const gnu = gnuObject(dir, src.lines.join('\n') + '\n');
          if (!gnu) {
            tally.notComparable++; // GNU as refuses it with this configuration too
            continue;
          }
          let mine: Map<string, Uint8Array>;
          let asmSectionAlloc: (name: string) => boolean = () => true;
          try {
            const obj = assemble(src);
            asmSectionAlloc = (name) => obj.sections.find((s) => s.name === name)?.flags.alloc ?? true;
            // Kernel-like addresses so that relocated fields fit as they do in vmlinux (their bytes are
            // not compared); non-allocated sections are discarded as the image link discards them.
            const emitted = writeObject(obj, { sectionBase: () => 0xffffffff81000000n, external: () => 0xffffffff82000000n, discard: (s) => !s.flags.alloc });
            mine = new Map(emitted.sections.filter((s) => s.section.type !== 'nobits').map((s) => [s.section.name, s.bytes]));
          } catch (e) {
            expect(isSeamlabError(e), `${file}: ${String(e)}`).toBe(true);
            refused.push(`${file}: ${(e as Error).message.slice(0, 100)}`);
            tally.refused++;
            continue;
          }
          for (const [sec, g] of gnu.sections) {
            if (!asmSectionAlloc(sec)) continue;
            const m = mine.get(sec) ?? new Uint8Array(0);
            expect(m.length, `${file} ${sec} size`).toBe(g.length);
            const skip = gnu.relocated.get(sec) ?? new Set<number>();
            const firstDiff = g.findIndex((b, i) => !skip.has(i) && m[i] !== b);
            expect(firstDiff, `${file} ${sec}: first differing byte`).toBe(-1);
          }
          tally.identical++;
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      console.log(`${name}: ${JSON.stringify(tally)}\n  refused:\n    ${refused.join('\n    ')}`);
      expect(tally.identical).toBeGreaterThan(40);
    });
  }
});
