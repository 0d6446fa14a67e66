/**
 * Fuzzing every front end that reads text from strangers (issue 18 item
 * 11): the patch/mbox reader with patch application, the C preprocessor,
 * the assembler with the linker, and the scenario loader (YAML/JSON text
 * and objects). The gdb packet reader and the DAP reader have their own
 * fuzz tests (test/gdb-fuzz.test.ts, test/debug-dap-fuzz.test.ts), sized
 * by the same switch.
 *
 * The one property everywhere: whatever the input, the front end returns
 * or throws a SeamlabError (a user error with a code and a hint) — never
 * anything else, which would be an internal error (exit 70). Inputs mix
 * random characters with the pieces of each language (directives,
 * headers, hunk lines, YAML keys), so that they get past the first
 * syntax check and reach the code behind it.
 *
 * A fixed-seed short run in `npm test`; `SEAMLAB_FUZZ_LONG=1` runs
 * 100,000 inputs per front end (test/support/fuzz-runs.ts) and prints the
 * figures.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { isSeamlabError } from '../../src/errors.js';
import { parsePatchText } from '../../src/intake/patch-file.js';
import { applyLoadedPatch } from '../../src/intake/apply.js';
import { DirFs, OverlayFs } from '../../src/support/vfs.js';
import { plainSource } from '../../src/cpp/types.js';
import { assemble } from '../../src/gas/assemble.js';
import { linkObject } from '../../src/image/link.js';
import { scenarioFromObject, scenarioFromText } from '../../src/seam/scenario-file.js';
import { cpp } from '../support/cpp-helpers.js';
import { FUZZ_TIMEOUT_MS, fuzzRuns, fuzzSeed } from '../support/fuzz-runs.js';

const seed = fuzzSeed(20251205);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-robust-fuzz-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** What one front end did with its inputs. */
interface Tally { inputs: number; accepted: number; refused: number; codes: Set<string> }
const tallies = new Map<string, Tally>();
afterAll(() => {
  for (const [name, t] of tallies) console.log(`fuzz ${name}: ${t.inputs} inputs, ${t.accepted} accepted, ${t.refused} refused as user errors (${t.codes.size} codes), 0 internal errors (seed ${seed})`);
});

/** Counts one input of front end `name`: accepted, or refused with a SeamlabError; anything else fails the property (fast-check shrinks and reports it). */
function tally(name: string, error?: { thrown: unknown }): void {
  const t = tallies.get(name) ?? { inputs: 0, accepted: 0, refused: 0, codes: new Set<string>() };
  tallies.set(name, t);
  t.inputs++;
  if (!error) {
    t.accepted++;
    return;
  }
  const e = error.thrown;
  if (!isSeamlabError(e)) throw new Error(`internal error in ${name}: ${e instanceof Error ? e.stack : String(e)}`, { cause: e });
  expect(e.hint.length).toBeGreaterThan(0);
  t.refused++;
  t.codes.add(e.code);
}

/** Runs `f` as one input of front end `name` (see tally). */
function frontEnd(name: string, f: () => void): void {
  try {
    f();
  } catch (thrown) {
    tally(name, { thrown });
    return;
  }
  tally(name);
}

async function frontEndAsync(name: string, f: () => Promise<unknown>): Promise<void> {
  try {
    await f();
  } catch (thrown) {
    tally(name, { thrown });
    return;
  }
  tally(name);
}

/** Text made of lines, each a piece of the language or random characters. */
const linesOf = (pieces: string[], maxLines = 30) => fc.array(fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...pieces) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...pieces), fc.string({ maxLength: 12 })).map(([p, s]) => p + s) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40, unit: 'binary' }) },
), { maxLength: maxLines }).map((ls) => ls.join('\n'));

describe('patch and mbox reader, and patch application', () => {
  // A base tree on disk (patch paths are checked against it for symlinks).
  const root = path.join(work, 'tree');
  fs.mkdirSync(path.join(root, 'arch/x86/kernel'), { recursive: true });
  fs.writeFileSync(path.join(root, 'arch/x86/kernel/a.S'), 'one\ntwo\nthree\n\tfour\n');
  fs.writeFileSync(path.join(root, 'arch/x86/kernel/b.h'), '#define B 1\n');
  fs.writeFileSync(path.join(root, 'Makefile'), 'obj-y += a.o\n');
  const base = new DirFs(root);
  const pieces = [
    'From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001', 'From: A <a@b.c>', 'Subject: [PATCH 1/2] x', 'Subject: [PATCH v2 2/999999999] y',
    'Subject: Re: [PATCH 0/3] cover', 'Date: Mon, 1 Jan 2024 00:00:00 +0000', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="B"',
    'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: base64', 'Content-Transfer-Encoding: quoted-printable', '--B', '--B--', '',
    '---', 'diff --git a/arch/x86/kernel/a.S b/arch/x86/kernel/a.S', 'diff --git a/Makefile b/Makefile', 'new file mode 100644', 'deleted file mode 100644',
    'rename from arch/x86/kernel/a.S', 'rename to arch/x86/kernel/c.S', 'index 1234567..89abcde 100644', '--- a/arch/x86/kernel/a.S', '+++ b/arch/x86/kernel/a.S',
    '--- /dev/null', '+++ b/arch/x86/kernel/new.S', '--- a/../etc/passwd', '+++ b/arch/x86', '@@ -1,3 +1,3 @@', '@@ -2 +2 @@', '@@ -0,0 +1 @@', '@@ -1,999999999 +1 @@',
    ' one', ' two', '-two', '+TWO', ' three', '-\tfour', '+ four', '\\ No newline at end of file', 'one', '-- ', '2.40.0', 'SGVsbG8=', '=3D=0A',
  ];
  it(`never fails with an internal error (seed ${seed})`, () => {
    fc.assert(fc.property(linesOf(pieces, 40), (text) => {
      frontEnd('patch reader', () => {
        const file = parsePatchText(text, 'fuzz.patch');
        const overlay = new OverlayFs(base, 'patches');
        file.patches.forEach((p, k) => applyLoadedPatch({ root, baseName: 'tree', overlay }, p, file.patches.slice(k + 1)));
      });
    }), { seed, numRuns: fuzzRuns(400) });
  }, FUZZ_TIMEOUT_MS);
});

describe('C preprocessor', () => {
  const pieces = [
    '#define A(x) x ## x', '#define B A(B)', '#define F(x, ...) x __VA_ARGS__ __VA_OPT__(,)', '#define S(x) #x', '#define C C C', '#undef A', '#if A', '#if defined(B) && 1 / 0',
    '#if (1 ? 2 : 3) << 70', '#ifdef C', '#elif', '#else', '#endif', '#include "h.h"', '#include <h.h>', '#include "main.S"', '#include_next "h.h"', '#error no', '#warning w', '#pragma once',
    '#line 99 "x"', '_Pragma("once")', '__LINE__ __FILE__ __COUNTER__', 'A(1) B F(1,2,3) S(x) C', 'F(', ')', '"unterminated', "'c", '/* comment', '*/', '\\', '#', '##', '#if 0x7fffffffffffffff + 1',
    '__has_include("h.h")', '#define', '#define X(', '#define Y(a,a) a',
  ];
  it(`never fails with an internal error (seed ${seed})`, () => {
    fc.assert(fc.property(linesOf(pieces), linesOf(pieces, 10), (main, header) => {
      frontEnd('cpp', () => {
        cpp({ 'main.S': main, 'h.h': header });
      });
    }), { seed, numRuns: fuzzRuns(400) });
  }, FUZZ_TIMEOUT_MS);
});

describe('assembler and linker', () => {
  const pieces = [
    '.text', '.data', '.section .foo, "ax"', '.pushsection .bar,"a"', '.popsection', '.balign 16', '.p2align 31', '.balign 0x40000000', '.org . + 16', '.skip 100', '.fill 3, 4, 0x90',
    '.byte 1, 2, 300', '.quad sym', '.long 1b - .', '.globl f', 'f:', '1:', 'sym = . + 4', '.set s, s + 1', '.equ e, 1 / 0', '.if 1', '.else', '.endif', '.rept 3', '.endr',
    '.macro M a', '\\a', '.endm', 'M 1', '.irp r, rax, rbx', 'push %\\r', '.size f, . - f', '.type f, @function', '.cfi_startproc', '.cfi_endproc',
    'mov %rax, %rbx', 'movq $0x123456789, (%rsp)', 'lea 1b(%rip), %rcx', 'jmp 1b', 'call f', 'jne 1f', 'ret', 'seamcall', 'tdcall', '.byte 0x66,0x0f,0x01,0xcf',
    'syscall', 'hlt', 'xchg %eax, %eax', 'mov %cr0, %rax', 'int $3', 'ud2', 'bogus %rax', 'mov $', '(%rax', '.pushsection __ex_table, "a"', '.long 1b - ., 1b - ., 2',
  ];
  it(`never fails with an internal error (seed ${seed})`, () => {
    fc.assert(fc.property(linesOf(pieces), (text) => {
      frontEnd('gas', () => {
        linkObject(assemble(plainSource('fuzz.S', text)), { sourceFile: 'fuzz.S', profile: 'fuzz' });
      });
    }), { seed, numRuns: fuzzRuns(400) });
  }, FUZZ_TIMEOUT_MS);
});

describe('scenario loader', () => {
  const pieces = [
    'name: x', 'name: X Y', 'summary: s', 'requiresOutputPointer: true', 'seamcall:', 'tdcall:', 'sequence:', '  call:', '  call: { leaf: TDH.SYS.RD }', '    leaf: 34',
    '    leaf: 34.5', '    leaf: 0x10000000000000000', '    leaf: "TDG.VM.RD v1"', '    inputs: { rdx: 0x9100000100000008, rcx: { phys: 256, align: 256, fill: pattern } }',
    '    inputs: { rsp: 1 }', '  env: { vmx: false, cpl: 3, lp: 99999 }', '  handler:', '    script:', '      - return: { rax: TDX_RND_NO_ENTROPY }', '      - vmfailinvalid', '      - interrupted',
    '      - fault: UD', '    then: { model: tdx-module, module: { state: ready, entropy: 2, lps: 0 } }', '  handler: { module: ./x.mjs }', '  handler: { model: td-guest, guest: { gpaw: 47 } }',
    '  steps:', '    - { call: { leaf: TDH.SYS.INIT }, expect: { status: TDX_SUCCESS }, repeat: { while: rdx, below: 1, max: 0 } }', '  memory: [ { phys: 0x1000, u64: [1, 2] } ]',
    'a: &a [x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a]', 'c: [*b, *b, *b, *b, *b, *b]', '*nope', '[[[[[[[[', ']]]]', '{', '}', '- - -', '? x', ': y', '!!binary x', '%YAML 1.2', '---', '...',
  ];
  // Whole documents from the format's own shapes, each value valid or not, then a line mangled or not.
  /** Mostly valid values, sometimes invalid ones. */
  const vi = (valid: string[], invalid: string[]) => fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...valid) }, { weight: 1, arbitrary: fc.constantFrom(...invalid) });
  const document = fc.record({
    name: vi(['x', 'entropy-retry'], ['Bad Name', '""']),
    side: vi(['seamcall', 'tdcall'], ['nope']),
    leaf: vi(['TDH.SYS.RD', 'TDG.VP.INFO', '"TDG.VM.RD v1"', 'SEAMLDR.INFO', '34', '0x8000000000000000'], ['34.5', 'TDH.NOPE', '0x10000000000000000']),
    reg: vi(['rdx', 'rcx', 'r8'], ['rsp', 'rax', 'xmm0']),
    value: vi(['0x9100000100000008', '34', '-1', '"0x22"', 'TDX_SUCCESS', 'TDX_OPERAND_INVALID|RCX', '{ phys: 256, align: 256, fill: pattern }'],
      ['0x10000000000000000', '18446744073709551616', '34.5', 'NOPE', '{ phys: 0 }', '[1]', '~', '*a']),
    env: vi(['{}', '{ vmx: false }', '{ cpl: 3 }', '{ inTd: true, lp: 1 }'], ['{ lp: 99999 }', '{ bogus: 1 }']),
    handler: vi(['{ model: tdx-module }', '{ model: tdx-module, module: { state: uninitialized, lps: 2, entropy: 1 } }', '{ model: td-guest }',
      '{ script: [ { return: { rax: TDX_RND_NO_ENTROPY } }, vmfailinvalid ], then: { model: tdx-module } }', '{ script: [ interrupted ] }'],
    ['{ script: [] }', '{ module: ./x.mjs }', '{ model: nope }', '{ script: [ { fault: XX } ] }']),
    sequence: fc.boolean(),
    mangle: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.constantFrom('drop', 'dup', 'junk', 'indent')) }),
  }).map((d) => {
    const lines = d.sequence
      ? [`name: ${d.name}`, 'sequence:', `  handler: ${d.handler}`, '  memory: [ { phys: 0x1000, u64: [1, 2] } ]', '  steps:', `    - call: { leaf: ${d.leaf}, inputs: { ${d.reg}: ${d.value} } }`, '      expect: { status: TDX_SUCCESS, outcome: return }', `      repeat: { while: ${d.reg}, below: ${d.value}, max: 3 }`]
      : [`name: ${d.name}`, `${d.side}:`, '  call:', `    leaf: ${d.leaf}`, `    inputs: { ${d.reg}: ${d.value} }`, `  env: ${d.env}`, `  handler: ${d.handler}`];
    if (d.mangle) {
      const [at, how] = d.mangle;
      const k = at % lines.length;
      if (how === 'drop') lines.splice(k, 1);
      else if (how === 'dup') lines.splice(k, 0, lines[k]!);
      else if (how === 'junk') lines.splice(k, 0, '  ]]: [{');
      else lines[k] = `   ${lines[k]}`;
    }
    return lines.join('\n') + '\n';
  });

  it(`YAML text: never fails with an internal error, and never runs code (seed ${seed})`, async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(document, linesOf(pieces)), async (text) => {
      await frontEndAsync('scenario loader (YAML)', () => scenarioFromText(text, path.join(work, 'fuzz.yaml')));
    }), { seed, numRuns: fuzzRuns(400) });
  }, FUZZ_TIMEOUT_MS);

  it(`JSON and objects of any shape: never fail with an internal error (seed ${seed})`, async () => {
    // The documents above as data, with a value anywhere in them replaced by anything at all (a Proxy-free fc.anything()).
    // As the loader reads YAML: integers as bigints, the small ones as numbers again.
    const small = (v: unknown): unknown => (typeof v === 'bigint' ? (v >= -(2n ** 53n) && v < 2n ** 53n ? Number(v) : v)
      : Array.isArray(v) ? v.map(small) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, small(x)])) : v);
    const asData = (text: string): unknown => {
      try {
        return small(parse(text, { intAsBigInt: true }));
      } catch {
        return text;
      }
    };
    const replaceSomewhere = (data: unknown, at: number, by: unknown): unknown => {
      let n = 0;
      const walk = (v: unknown): unknown => {
        if (n++ === at) return by;
        if (Array.isArray(v)) return v.map(walk);
        if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
        return v;
      };
      return walk(data);
    };
    const objects = fc.oneof(
      { weight: 3, arbitrary: document.map(asData) },
      { weight: 3, arbitrary: fc.tuple(document.map(asData), fc.nat({ max: 40 }), fc.anything({ withBigInt: true, withNullPrototype: true, withMap: true })).map(([d, at, by]) => replaceSomewhere(d, at, by)) },
      { weight: 1, arbitrary: fc.anything({ withBigInt: true }) },
    );
    await fc.assert(fc.asyncProperty(objects, async (data) => {
      await frontEndAsync('scenario loader (objects)', () => scenarioFromObject(data, 'fuzz'));
      await frontEndAsync('scenario loader (JSON)', () => scenarioFromText(JSON.stringify(data, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v)) ?? 'null', path.join(work, 'fuzz.json'), 'JSON'));
    }), { seed, numRuns: fuzzRuns(300) });
  }, FUZZ_TIMEOUT_MS);
});
