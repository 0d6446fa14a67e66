/**
 * The silicon oracle: every entry point of v3, linux-6.1 and linux-6.12 ×
 * every built-in scenario × every kconfig profile runs on Unicorn and on
 * this CPU (single-stepped under ptrace) with identical traces; a flag
 * flipped by the runner at step k is reported at exactly step k; wild
 * accesses fault alike; images with absolute self-references are refused;
 * the flag table follows the SDM; the pipe reader survives truncated and
 * corrupt streams. The CPU is the oracle here: nothing is compared with
 * seamlab's own expectations.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerOracle } from '../src/cli/oracle.js';
import { buildImage } from '../src/image/build.js';
import { plainSource } from '../src/cpp/types.js';
import { resolveRevision } from '../src/intake/revision.js';
import { PROFILES } from '../src/kbuild/kconfig/profiles.js';
import { formatOracleDivergence } from '../src/oracle/compare.js';
import { definedAfter, flagEffect, AF, CF, OF, PF, SF, ZF } from '../src/oracle/flags.js';
import { Oracle } from '../src/oracle/oracle.js';
import { fuzzOracle } from '../src/oracle/fuzz.js';
import { parse } from 'yaml';
import { signalMeaning } from '../src/oracle/silicon.js';
import { buildRunner, RUNNER_BINARY } from '../src/oracle/native-build.js';
import type { Image } from '../src/image/types.js';
import type { RunFunction } from '../src/run/run.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCommand, requireOracle } from './support/oracles.js';
import { ANSWER, AnswerReader, ProtocolError, type Answer } from '../src/oracle/protocol.js';
import { relocationFor, USER_IMAGE_BASE } from '../src/oracle/relocate.js';
import { notApplicable } from '../src/run/run.js';
import { BUILTIN_SCENARIOS, builtinScenario } from '../src/seam/builtin-scenarios.js';
import { scenarioFromObject } from '../src/seam/scenario-file.js';
import { isSeamlabError, type SeamlabError } from '../src/errors.js';
import { cliInProcess, type InProcessResult } from './support/cli.js';
import { testImage } from './support/images.js';
import { memFs } from './support/mem-fs.js';
import { siliconUsable } from './support/silicon.js';

const REVISIONS = ['v3', 'linux-6.1', 'linux-6.12'];
const ALL_STATUS = CF | PF | AF | ZF | SF | OF;

// ---- the pipe protocol, written from the runner.c header ------------------------

function answerBytes(a: Answer): Buffer {
  const parts: Buffer[] = [];
  const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); parts.push(b); };
  const u64 = (v: bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(v); parts.push(b); };
  const runs = (w: { address: bigint; bytes: Uint8Array }[]) => {
    u32(w.length);
    for (const x of w) { u64(x.address); u32(x.bytes.length); parts.push(Buffer.from(x.bytes)); }
  };
  let type: number;
  switch (a.type) {
    case 'ok': type = ANSWER.ok; break;
    case 'error': type = ANSWER.error; parts.push(Buffer.from(a.message)); break;
    case 'data': type = ANSWER.data; parts.push(Buffer.from(a.bytes)); break;
    case 'hello': type = ANSWER.hello; u32(a.version); u32(a.ptraceErrno); parts.push(Buffer.from(a.detail)); break;
    case 'step': type = ANSWER.step; a.regs.forEach(u64); runs(a.writes); break;
    case 'event': {
      type = ANSWER.event;
      u32({ stop: 1, signal: 2, budget: 3, gone: 4 }[a.kind]); u32(a.signal); u32(a.code); u32(0); u64(a.siAddr);
      a.regs.forEach(u64); runs(a.writes);
      break;
    }
  }
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(8);
  head.writeUInt32LE(type, 0);
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}

const u64Arb = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const regsArb = fc.array(u64Arb, { minLength: 18, maxLength: 18 }).map((r) => BigUint64Array.from(r));
const runsArb = fc.array(fc.record({ address: u64Arb, bytes: fc.uint8Array({ maxLength: 20 }) }), { maxLength: 4 });
const answerArb: fc.Arbitrary<Answer> = fc.oneof(
  fc.constant<Answer>({ type: 'ok' }),
  fc.string({ unit: 'grapheme-ascii' }).map((message): Answer => ({ type: 'error', message })),
  fc.uint8Array({ maxLength: 40 }).map((bytes): Answer => ({ type: 'data', bytes })),
  fc.record({ version: fc.nat(), ptraceErrno: fc.nat(200), detail: fc.string({ unit: 'grapheme-ascii' }) }).map((h): Answer => ({ type: 'hello', ...h })),
  fc.record({ regs: regsArb, writes: runsArb }).map((s): Answer => ({ type: 'step', ...s })),
  fc.record({ kind: fc.constantFrom('stop', 'signal', 'budget', 'gone' as const), signal: fc.nat(64), code: fc.integer({ min: -10, max: 200 }), siAddr: u64Arb, regs: regsArb, writes: runsArb })
    .map((e): Answer => ({ type: 'event', ...e })),
);

function readAll(reader: AnswerReader): Answer[] {
  const out: Answer[] = [];
  for (let a = reader.next(); a; a = reader.next()) out.push(a);
  return out;
}

describe('pipe protocol reader', () => {
  it('reads any stream of answers however it is cut into chunks', () => {
    fc.assert(fc.property(fc.array(answerArb, { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }), (answers, cuts) => {
      const stream = Buffer.concat(answers.map(answerBytes));
      const points = [...new Set(cuts.map((c) => (stream.length ? c % stream.length : 0)))].sort((a, b) => a - b);
      const reader = new AnswerReader();
      const got: Answer[] = [];
      let from = 0;
      for (const p of [...points, stream.length]) {
        reader.push(stream.subarray(from, p));
        from = p;
        got.push(...readAll(reader));
      }
      expect(got).toEqual(answers);
      expect(reader.pending).toBe(0);
    }), { numRuns: 300 });
  });

  it('a truncated answer is "not yet", never a crash or a wrong answer', () => {
    fc.assert(fc.property(answerArb, fc.nat(), (a, n) => {
      const bytes = answerBytes(a);
      const reader = new AnswerReader();
      reader.push(bytes.subarray(0, n % bytes.length));
      expect(reader.next()).toBeUndefined();
    }), { numRuns: 300 });
  });

  it('corrupt bytes give answers or a ProtocolError, nothing else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0x80, max: 0x85 }), (junk, type) => {
      const head = Buffer.alloc(8);
      head.writeUInt32LE(type, 0);
      head.writeUInt32LE(junk.length, 4);
      for (const stream of [Buffer.from(junk), Buffer.concat([head, junk])]) {
        const reader = new AnswerReader();
        reader.push(stream);
        try {
          readAll(reader);
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
        }
      }
    }), { numRuns: 500 });
  });
});

// ---- flags ------------------------------------------------------------------------

describe('flags the architecture leaves undefined (SDM Vol. 2 "Flags Affected")', () => {
  const after = (mnemonic: string, operands: string, rcx = 0n) => definedAfter(ALL_STATUS, flagEffect(mnemonic, operands, rcx));

  it('logic instructions leave AF undefined; moves, pushes and branches leave the flags alone', () => {
    expect(after('xorl', '%eax, %eax')).toBe(ALL_STATUS & ~AF);
    expect(after('testq', '%r12, %r12')).toBe(ALL_STATUS & ~AF);
    expect(after('orq', '%rdi, %rax')).toBe(ALL_STATUS & ~AF);
    for (const m of ['movq', 'movabsq', 'pushq', 'popq', 'je', 'jb', 'jmp', 'callq', 'retq', 'endbr64', 'leaq']) {
      expect(definedAfter(ALL_STATUS & ~AF, flagEffect(m, '%rax, %rbx', 0n)), m).toBe(ALL_STATUS & ~AF);
    }
    expect(definedAfter(ALL_STATUS & ~AF, flagEffect('cmpq', '%rax, %rbx', 0n))).toBe(ALL_STATUS);
    expect(definedAfter(ALL_STATUS & ~AF, flagEffect('addq', '$1, %rbx', 0n))).toBe(ALL_STATUS);
  });

  it('shifts: count 0 changes nothing, 1 leaves AF undefined, more leaves AF and OF undefined; %cl counts come from RCX', () => {
    expect(definedAfter(ALL_STATUS & ~ZF, flagEffect('shlq', '$0, %rax', 0n))).toBe(ALL_STATUS & ~ZF);
    expect(after('shlq', '%rax')).toBe(ALL_STATUS & ~AF);
    expect(after('shrq', '$1, %rax')).toBe(ALL_STATUS & ~AF);
    expect(after('sarq', '$3, %rax')).toBe(ALL_STATUS & ~(AF | OF));
    expect(after('shlq', '%cl, %rax', 0x40n)).toBe(ALL_STATUS); // 0x40 & 0x3f = 0: no change
    expect(after('shlb', '%cl, %al', 9n)).toBe(ALL_STATUS & ~(AF | OF | CF)); // count ≥ operand size: CF undefined
    expect(after('rolq', '$1, %rax')).toBe(ALL_STATUS);
    expect(after('rorq', '$5, %rax')).toBe(ALL_STATUS & ~OF);
  });

  it('multiplies, bit scans and bit tests', () => {
    expect(after('imulq', '%rcx, %rax')).toBe(CF | OF);
    expect(after('mulq', '%rcx')).toBe(CF | OF);
    expect(after('bsfq', '%rcx, %rax')).toBe(ZF);
    expect(after('btq', '$3, %rax')).toBe(CF | ZF);
    expect(after('divq', '%rcx')).toBe(0n);
    expect(after('incq', '%rax')).toBe(ALL_STATUS);
  });
});

// ---- signals ----------------------------------------------------------------------

describe('what a signal from the child means (Linux arch/x86/kernel/traps.c)', () => {
  const RIP = 0xffffffff81000010n;
  const RAW = 0x5eed81000010n;
  it('SEAMCALL/TDCALL at a trap site: SIGILL (#UD, measured here) or SIGSEGV (#GP, under other hypervisors)', () => {
    expect(signalMeaning(4, 2, RAW, RIP, RAW, true)).toEqual({ kind: 'seam-call' });
    expect(signalMeaning(11, 0x80, 0n, RIP, RAW, true)).toEqual({ kind: 'seam-call' });
  });
  it('elsewhere: #UD, #GP, #PF (data or fetch), int3 (#BP at the byte before RIP), #DE, #AC', () => {
    expect(signalMeaning(4, 2, RAW, RIP, RAW, false)).toEqual({ kind: 'exception', vector: 6, address: RIP });
    expect(signalMeaning(11, 0x80, 0n, RIP, RAW, false)).toEqual({ kind: 'exception', vector: 13, address: RIP });
    expect(signalMeaning(11, 1, 0x1000n, RIP, RAW, false)).toEqual({ kind: 'page-fault', fetch: false });
    expect(signalMeaning(11, 2, RAW, RIP, RAW, false)).toEqual({ kind: 'page-fault', fetch: true });
    expect(signalMeaning(5, 0x80, 0n, RIP + 1n, RAW + 1n, false)).toEqual({ kind: 'exception', vector: 3, address: RIP });
    expect(signalMeaning(8, 1, RAW, RIP, RAW, false)).toEqual({ kind: 'exception', vector: 0, address: RIP });
    expect(signalMeaning(7, 1, 0x1001n, RIP, RAW, false)).toEqual({ kind: 'exception', vector: 17, address: RIP });
    expect(signalMeaning(5, 2, 0n, RIP, RAW, false).kind).toBe('unexpected');
  });
});

// ---- building the runner ------------------------------------------------------------

describe.skipIf(!requireOracle('a C compiler', hasCommand(process.env.CC || 'cc'), 'apt-get install gcc libc6-dev'))('the runner is built from its source, once per source', () => {
  it('compiles into <cache>/native/<hash>/, says so, and reuses the binary', () => {
    const cache = mkdtempSync(join(tmpdir(), 'seamlab-native-'));
    try {
      const said: string[] = [];
      const first = buildRunner({ cache, log: (l) => said.push(l) });
      expect(first.compiled).toBe(true);
      expect(first.path.slice(cache.length)).toMatch(new RegExp(`^/native/[0-9a-f]{16}/${RUNNER_BINARY}$`));
      expect(said).toEqual([expect.stringMatching(/^compiling the silicon-oracle runner \(src\/oracle\/native\/runner\.c\) with /)]);
      const again = buildRunner({ cache, log: (l) => said.push(l) });
      expect(again).toEqual({ path: first.path, compiled: false });
      expect(said).toHaveLength(1);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});

// ---- relocation -------------------------------------------------------------------

describe('running the image at another address', () => {
  it('every TDX image of every revision and profile is position-independent', () => {
    for (const rev of REVISIONS) {
      const r = resolveRevision(rev);
      for (const p of PROFILES) {
        for (const file of new Set(r.functions.map((f) => f.sourceFile))) {
          const reloc = relocationFor(testImage(r, file, p.name));
          expect(reloc.toSilicon(0xffffffff81000000n)).toBe(USER_IMAGE_BASE);
          expect(reloc.toUnicorn(USER_IMAGE_BASE + 0x10n)).toBe(0xffffffff81000010n);
          expect(reloc.toUnicorn(0x1234n)).toBe(0x1234n);
        }
      }
    }
  });

  for (const [what, text, line] of [
    ['an absolute immediate', 'f:\n nop\n movabs $f, %rax\n ret\n', 3],
    ['an absolute pointer in data', 'f:\n ret\n.section .rodata,"a"\n.quad f\n', 4],
    ['a sign-extended 32-bit absolute address (fits at the kernel address, not in user space)', 'f:\n movq $g, %rax\ng: ret\n', 2],
  ] as const) {
    it(`refuses ${what}, naming the statement`, () => {
      const image = buildImage(memFs({ 'a.S': text }), 'a.S', { preprocess: (files, file) => plainSource(file, files.readFile(file)!) }).image;
      let err: SeamlabError | undefined;
      try {
        relocationFor(image);
      } catch (e) {
        if (!isSeamlabError(e)) throw e;
        err = e;
      }
      expect(err?.code).toBe('ORACLE_ABSOLUTE_REFERENCE');
      expect(err?.where?.pos).toEqual({ file: 'a.S', line });
    });
  }
});

// ---- Unicorn against the CPU ------------------------------------------------------

const SILICON = siliconUsable();

describe.skipIf(!SILICON)('Unicorn and this CPU agree', () => {
  let oracle: Oracle;
  beforeAll(async () => {
    oracle = await Oracle.open();
  });
  afterAll(() => oracle?.close());

  for (const rev of REVISIONS) {
    it(`on every instruction of every ${rev} entry point × built-in scenario × profile`, () => {
      const r = resolveRevision(rev);
      const ends = new Set<string>();
      let fixups = 0;
      let runs = 0;
      for (const p of PROFILES) {
        for (const fn of r.functions) {
          const image = testImage(r, fn.sourceFile, p.name);
          for (const sc of BUILTIN_SCENARIOS) {
            if (notApplicable(sc, fn)) continue;
            const res = oracle.run(image, fn, sc, { revision: rev, profile: p.name });
            const title = `${rev} ${p.name} ${fn.name} × ${sc.name}`;
            expect(res.divergence ? formatOracleDivergence(res.divergence, title) : undefined, title).toBeUndefined();
            expect(res.silicon.steps.length, title).toBe(res.unicorn.steps.length);
            expect(res.silicon.end, title).toEqual(res.unicorn.end);
            expect(res.instructions, title).toBeGreaterThan(5);
            ends.add(res.end.kind);
            fixups += res.unicorn.steps.filter((s) => s.exception).length;
            runs++;
          }
        }
      }
      expect(ends.has('returned')).toBe(true);
      if (rev !== 'linux-6.12') expect(ends.has('oops')).toBe(true); // #UD/#GP with no __ex_table entry
      else expect(fixups).toBeGreaterThan(0); // 6.12's SEAMCALLs have EX_TYPE_FAULT entries
      expect(runs).toBeGreaterThan(PROFILES.length * r.functions.length * 5);
    });
  }

  it('wild accesses through a pointer the SEAM side returned fault alike: unmapped, non-canonical, or where the host process had memory', async () => {
    const r = resolveRevision('linux-6.12');
    const fn = r.functions.find((f) => f.name === '__seamcall_ret')!;
    const image = testImage(r, fn.sourceFile);
    const expected: Record<string, string> = { '0x0': 'fault', '0x8000000000000000': 'oops', '0x7ffffffffff9': 'oops', '0x555555554000': 'fault', '0x7ffff7fff000': 'fault', '0x7ffffffde000': 'fault' };
    for (const [rsi, end] of Object.entries(expected)) {
      const sc = await scenarioFromObject({ name: 'wild', seamcall: { call: { leaf: 34 }, handler: { script: [{ return: { rax: 0, regs: { rsi } } }] } } }, 'test');
      const res = oracle.run(image, fn, sc, { revision: 'linux-6.12' });
      expect(res.divergence ? formatOracleDivergence(res.divergence) : undefined, rsi).toBeUndefined();
      expect(res.end.kind, rsi).toBe(end);
      expect(res.silicon.end.kind, rsi).toBe(res.unicorn.end.kind);
    }
  });

  it('the per-step write scan misses nothing: comparing every page after every step gives the same trace', () => {
    const r = resolveRevision('linux-6.12');
    for (const name of ['__seamcall_saved_ret', '__tdcall_saved_ret']) {
      const fn = r.functions.find((f) => f.name === name)!;
      const image = testImage(r, fn.sourceFile);
      const sc = builtinScenario('success')!;
      const fast = oracle.run(image, fn, sc, { revision: 'linux-6.12' });
      const exact = oracle.run(image, fn, sc, { revision: 'linux-6.12', exactWrites: true });
      expect(exact.silicon.steps).toEqual(fast.silicon.steps);
      expect(fast.silicon.unattributed).toEqual([]);
      expect(fast.silicon.steps.some((s) => s.writes.length > 0)).toBe(true);
    }
  });
});

describe.skipIf(!SILICON)('a divergence is reported where it happens', () => {
  let oracle: Oracle;
  beforeAll(async () => {
    oracle = await Oracle.open();
  });
  afterAll(() => oracle?.close());

  // v3 __seamcall × success, from its source: 0 push %rbp … 8 seamcall, 9 jae, 10 pop %r12, 11 test %r12,%r12, 12 je, 13 mov %rcx,(%r12) …
  const run = (flip: { step: number; mask: bigint }) => {
    const r = resolveRevision('v3');
    const fn = r.functions.find((f) => f.name === '__seamcall')!;
    return oracle.run(testImage(r, fn.sourceFile), fn, builtinScenario('success')!, { revision: 'v3', flip });
  };

  for (const step of [0, 4, 10, 11, 13, 20]) {
    it(`ZF flipped by the runner after step ${step} is reported at step ${step}`, () => {
      const d = run({ step, mask: ZF }).divergence;
      expect(d?.step).toBe(step);
      expect(d?.differences[0]).toMatchObject({ what: 'ZF' });
      const text = formatOracleDivergence(d!);
      expect(text).toMatch(new RegExp(`^DIVERGENCE at step ${step}\\n  instruction  0xffffffff81`));
      expect(text).toMatch(/\n {2}source {7}__seamcall.* arch\/x86\/(virt\/vmx\/tdx\/seamcall\.S|include\/asm\/frame\.h|virt\/vmx\/tdx\/tdxcall\.S):\d+/);
    });
  }

  it('DF is compared after every instruction', () => {
    expect(run({ step: 6, mask: 1n << 10n }).divergence).toMatchObject({ step: 6, differences: [{ what: 'DF' }] });
  });

  it('AF flipped right after `test` (which leaves it undefined) is no divergence; flipped after `pop` it is', () => {
    expect(run({ step: 11, mask: AF }).divergence).toBeUndefined();
    expect(run({ step: 10, mask: AF }).divergence).toMatchObject({ step: 10, differences: [{ what: 'AF' }] });
  });
});

describe.skipIf(!SILICON)('instructions beyond the TDX entry points', () => {
  let oracle: Oracle;
  beforeAll(async () => {
    oracle = await Oracle.open();
  });
  afterAll(() => oracle?.close());

  const VOID: RunFunction = { name: 'f', kind: 'seamcall', abi: { prototype: 'void f(void);', declaredAt: { file: 't.h', line: 1 }, returns: { kind: 'void' }, params: [] } as unknown as RunFunction['abi'] };
  const snippet = (body: string): Image => buildImage(memFs({ 'a.S': `.globl f\nf:\n${body.replace(/; */g, '\n')}\n` }), 'a.S', { preprocess: (files, file) => plainSource(file, files.readFile(file)!) }).image;
  const run = async (body: string) => {
    const sc = await scenarioFromObject({ name: 's', seamcall: { call: { leaf: 0 }, handler: { script: [{ return: { rax: 0 } }] } } }, 'test');
    return oracle.run(snippet(body), VOID, sc, { revision: 'snippet' });
  };

  it('shifts, multiplies and bit scans agree where the SDM defines the flags (this CPU and Unicorn set AF differently after them)', async () => {
    const r = await run('mov $0x1234, %rax; mov $3, %cl; shl %cl, %rax; imul %rax, %rax; mov $0x80, %rdx; bsf %rdx, %rdx; bsr %rax, %rbx; bt $3, %rax; mul %rdx; shr $1, %rax; rol $3, %rax; sar $7, %rax; ret');
    expect(r.divergence ? formatOracleDivergence(r.divergence) : undefined).toBeUndefined();
    expect(r.instructions).toBe(13);
  });

  it('int3 and ud2 oops alike; PUSHF stores the flags without the trap flag single-stepping sets', async () => {
    for (const [body, vector] of [['nop; int3; ret', 3], ['nop; ud2; ret', 6]] as const) {
      const r = await run(body);
      expect(r.divergence ? formatOracleDivergence(r.divergence) : undefined, body).toBeUndefined();
      expect(r.end, body).toEqual({ kind: 'oops', vector, address: 0xffffffff81000001n });
    }
    const p = await run('pushf; pop %rax; pushw %ax; pushfw; pop %ax; pop %ax; ret');
    expect(p.divergence ? formatOracleDivergence(p.divergence) : undefined).toBeUndefined();
  });

  it('an endless loop is a runaway after the same number of instructions on both sides', async () => {
    const sc = await scenarioFromObject({ name: 's', seamcall: { call: { leaf: 0 }, handler: { script: [{ return: { rax: 0 } }] } } }, 'test');
    const r = oracle.run(snippet('1: inc %rax; jmp 1b'), VOID, sc, { revision: 'snippet', budget: 301 });
    expect(r.divergence ? formatOracleDivergence(r.divergence) : undefined).toBeUndefined();
    expect(r.end).toEqual({ kind: 'runaway' });
    expect(r.silicon.steps).toHaveLength(301);
  });

  it('reports what ring 3 cannot run: sti raises #GP on the CPU; the machine stops at it as an instruction it does not model', async () => {
    const sti = await run('nop; sti; ret');
    expect(sti.divergence).toMatchObject({ step: 1, instruction: 'sti', siliconEnd: { kind: 'oops', vector: 13 }, unicornEnd: { kind: 'error', message: 'unmodelled instruction sti at 0xffffffff81000001' } });
  });

  it('a branch or ret to a non-canonical address raises #GP at the branch on both sides (the machine checks the target before the branch executes)', async () => {
    // Found by this oracle: Unicorn alone takes the branch and faults fetching the target (src/machine/code-scan.ts).
    for (const [body, at] of [
      ['mov $0x8000000000000000, %rax; jmp *%rax', 0xffffffff8100000an],
      ['mov $0x8000000000000000, %rax; call *%rax', 0xffffffff8100000an],
      ['mov $0x8000000000000000, %rax; push %rax; ret', 0xffffffff8100000bn],
      ['mov $0x8000000000000000, %rax; push %rax; jmp *(%rsp)', 0xffffffff8100000bn],
    ] as const) {
      const r = await run(body);
      expect(r.divergence ? formatOracleDivergence(r.divergence) : undefined, body).toBeUndefined();
      expect(r.end, body).toEqual({ kind: 'oops', vector: 13, address: at });
    }
  });
});

describe.skipIf(!SILICON)('seamlab oracle', () => {
  let oracle: Oracle;
  beforeAll(async () => {
    oracle = await Oracle.open();
  });
  afterAll(() => oracle?.close());

  function cli(args: string[]): Promise<InProcessResult> {
    return cliInProcess(args, (program, print) => registerOracle(program, { buildImage: (rev, file, profile) => testImage(rev, file, profile), print, oracle }));
  }

  it('compares one entry point and scenario, or all of them', async () => {
    const one = await cli(['oracle', 'v3', '--fn', '__seamcall', '--scenario', 'success']);
    expect(one.exitCode).toBe(0);
    expect(one.out).toMatch(/^v3 default: 1 runs, 22 instructions compared$/m);
    expect(one.out).toMatch(/^Unicorn and this CPU agree on every instruction: 1 runs, 22 instructions \(v3; profiles default\)$/m);
    const all = await cli(['oracle', 'linux-6.12', '--profile', 'sls']);
    expect(all.exitCode).toBe(0);
    expect(all.out).toMatch(/^linux-6\.12 sls: \d+ runs, \d+ instructions compared$/m);
  });

  it('--fuzz N --seed S runs random scenarios', async () => {
    const { out, exitCode } = await cli(['oracle', 'linux-6.1', '--fuzz', '40', '--seed', '5']);
    expect(exitCode).toBe(0);
    expect(out).toMatch(/^linux-6\.1 default: 40 random scenarios \(seed 5\), \d+ instructions; ends: .*; SEAM answers: .*$/m);
  });

  it('a divergence found by fuzzing is shrunk to a minimal scenario file that replays it', async () => {
    const r = resolveRevision('v3');
    const targets = r.functions.map((fn) => ({ fn, image: testImage(r, fn.sourceFile) }));
    // Every run diverges (the runner flips ZF after step 3), so fast-check shrinks the first input to the smallest one.
    const report = await fuzzOracle(oracle, targets, { revision: 'v3', profile: 'default', runs: 20, seed: 42, flip: { step: 3, mask: ZF } });
    const f = report.failure!;
    expect(f.divergence).toMatchObject({ step: 3, differences: [{ what: 'ZF' }] });
    expect(f.shrinks).toBeGreaterThan(0);
    const file = parse(f.scenarioFile) as { seamcall?: { call: { leaf: string; inputs: object } }; tdcall?: { call: { leaf: string; inputs: object } } };
    const c = (file.seamcall ?? file.tdcall)!;
    expect(c.call).toMatchObject({ leaf: '0x0', inputs: {} });
    const replay = oracle.run(targets.find((t) => t.fn.name === f.function)!.image, targets.find((t) => t.fn.name === f.function)!.fn,
      await scenarioFromObject(file, 'replay'), { revision: 'v3', flip: { step: 3, mask: ZF } });
    expect(replay.divergence).toMatchObject({ step: 3 });
  });

  it('refuses --fuzz with --scenario', async () => {
    const { error } = await cli(['oracle', 'v3', '--fuzz', '5', '--scenario', 'success']);
    expect(error?.code).toBe('CLI_CONFLICT');
  });
});
