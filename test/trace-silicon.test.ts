/**
 * Traces recorded on this CPU (`seamlab trace --on silicon`): the same
 * format, recorder and labels as a Unicorn trace, the header saying where it
 * ran. The CPU is the oracle here: every golden trace (recorded on Unicorn)
 * is re-recorded on the CPU and must match it field for field, and a flag
 * the runner flips after step k must show up in the trace at exactly step k.
 * Skipped, loudly, only where ptrace is not permitted.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerTrace } from '../src/cli/trace.js';
import { plainSource } from '../src/cpp/types.js';
import { loadDisassembler } from '../src/encode/capstone.js';
import { isSeamlabError, type SeamlabError } from '../src/errors.js';
import { buildImage } from '../src/image/build.js';
import { resolveRevision } from '../src/intake/revision.js';
import type { EntryFunction, Revision } from '../src/intake/types.js';
import { derivedAccesses } from '../src/oracle/accesses.js';
import { ALL_STATUS_DEFINED, AF, definedAfter, flagEffect, ZF } from '../src/oracle/flags.js';
import { SiliconSession } from '../src/oracle/silicon.js';
import { builtinScenario } from '../src/seam/builtin-scenarios.js';
import { scenarioFromObject } from '../src/seam/scenario-file.js';
import { compareTraces } from '../src/trace/compare.js';
import type { Trace, TraceStep } from '../src/trace/format.js';
import { goldenCases } from '../src/trace/golden.js';
import { parseTrace } from '../src/trace/jsonl.js';
import { recordTrace, type TraceRequest } from '../src/trace/record.js';
import { packageRoot } from '../src/support/package-root.js';
import { seamlab } from './support/cli.js';
import { memFs } from './support/mem-fs.js';
import { siliconUsable } from './support/silicon.js';

const SILICON = siliconUsable();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-trace-silicon-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let session: SiliconSession;
beforeAll(() => {
  if (SILICON) session = SiliconSession.open();
});
afterAll(() => session?.close());

const onCpu = (req: TraceRequest, flip?: { step: number; mask: bigint }) =>
  recordTrace({ ...req, on: 'silicon', silicon: { session, ...(flip ? { flip } : {}) } });

/** RFLAGS after step `k`: the last change a step up to k recorded, or the entry value. */
function rflagsAfter(t: Trace, k: number): bigint {
  for (let i = k; i >= 0; i--) {
    const v = t.steps[i]!.regs?.rflags?.[1];
    if (v) return BigInt(v);
  }
  return BigInt(t.header.entry.regs.rflags!);
}

/** Everything but the header's `executor` is the same record for record (the header says where each ran). */
function expectSameTrace(cpu: Trace, unicorn: Trace, what: string): void {
  expect(cpu.header.executor, what).toBe('silicon');
  expect(unicorn.header.executor, what).toBe('unicorn');
  expect({ ...cpu.header, executor: 'unicorn' }, what).toEqual(unicorn.header);
  expect(cpu.steps, what).toEqual(unicorn.steps);
  expect(cpu.summary, what).toEqual(unicorn.summary);
}

describe.skipIf(!SILICON)('traces recorded on this CPU', () => {
  it('match every golden trace and a fresh Unicorn recording on every field: v3, linux-6.1, linux-6.12 × every entry point × every built-in scenario (× every profile of 6.12 __seamcall_saved_ret)', async () => {
    const { cases, revisions } = goldenCases();
    expect(cases.length).toBeGreaterThanOrEqual(107);
    const seen = { reads: 0, writes: 0, seam: 0, fixups: 0, oops: 0 };
    for (const c of cases) {
      const rev = revisions.get(c.revision)!;
      const req: TraceRequest = { revision: rev, fn: c.function, scenario: builtinScenario(c.scenario)!, profile: c.profile };
      const cpu = await onCpu(req);
      expectSameTrace(cpu, await recordTrace(req), c.file);
      const golden = parseTrace(fs.readFileSync(path.join(packageRoot(), c.file), 'utf8'), c.file);
      const cmp = compareTraces(golden, cpu);
      expect(cmp.divergence, c.file).toBeUndefined();
      expect(cmp.headerChanges, c.file).toEqual([{ field: 'executor', expected: 'unicorn', actual: 'silicon' }]);
      for (const s of cpu.steps) {
        seen.reads += (s.mem ?? []).filter((m) => m.op === 'r').length;
        seen.writes += (s.mem ?? []).filter((m) => m.op === 'w').length;
        if (s.seam) seen.seam++;
        if (s.fault?.fixup) seen.fixups++;
      }
      if (cpu.summary.end.kind === 'oops') seen.oops++;
    }
    // What the comparison covered: labelled loads and stores, SEAM calls, #UD/#GP through the exception table, oopses.
    expect(seen.reads).toBeGreaterThan(1000);
    expect(seen.writes).toBeGreaterThan(1000);
    expect(seen.seam).toBeGreaterThanOrEqual(cases.length);
    expect(seen.fixups).toBeGreaterThan(10);
    expect(seen.oops).toBeGreaterThan(5);
  }, 600_000);

  it('show what the CPU did: the handler asked, loads and stores named after the plan, the exception-table fixup', async () => {
    const rev = resolveRevision('v3');
    const t = await onCpu({ revision: rev, fn: '__seamcall', scenario: builtinScenario('vmfailinvalid')! });
    const call = t.steps.find((s) => s.seam)!;
    expect(call).toMatchObject({ asm: 'seamcall', seam: { kind: 'seamcall', index: 0, leafName: 'TDH.SYS.INIT', outcome: { kind: 'vmfailinvalid' }, path: 'resumed' } });
    // VMfailInvalid: CF = 1; PF, AF, ZF, SF, OF = 0 (SDM Vol. 3C §30.2).
    expect(call.flags).toEqual({ set: [], cleared: ['PF', 'AF', 'ZF', 'SF', 'OF'] });
    expect(t.steps.flatMap((s) => s.mem ?? []).map((m) => m.label)).toContain('return address');
    const ud = await onCpu({ revision: resolveRevision('linux-6.12'), fn: '__seamcall_saved_ret', scenario: builtinScenario('ud')! });
    const fault = ud.steps.find((s) => s.fault)!;
    // ex_handler_fault puts the trap number into RAX: 6 for #UD.
    expect(fault).toMatchObject({ asm: 'seamcall', seam: { outcome: { kind: 'fault', vector: 'UD' }, path: 'exception-table' }, fault: { vector: 6 } });
    expect(fault.regs?.rax?.[1]).toBe('0x6');
  });

  // Not the SEAMCALL (step 8): its outcome, applied after the runner flipped the flag, rewrites all six status flags.
  for (const step of [0, 4, 11, 20]) {
    it(`ZF flipped by the runner right after step ${step} makes the CPU's trace differ from Unicorn's at exactly step ${step}`, async () => {
      const req: TraceRequest = { revision: resolveRevision('v3'), fn: '__seamcall', scenario: builtinScenario('success')! };
      const unicorn = await recordTrace(req);
      const cpu = await onCpu(req, { step, mask: ZF });
      expect(cpu.steps.slice(0, step)).toEqual(unicorn.steps.slice(0, step));
      const d = compareTraces(unicorn, cpu).divergence;
      expect(d).toMatchObject({ where: 'step', step, field: 'regs' });
      // RFLAGS after the step differ in ZF alone.
      expect(rflagsAfter(cpu, step) ^ rflagsAfter(unicorn, step)).toBe(ZF);
    });
  }
});

// ---- instructions beyond the TDX entry points -----------------------------------------

const VOID = { name: 'f', kind: 'seamcall', sourceFile: 'a.S', abi: { prototype: 'void f(void);', declaredAt: { file: 't.h', line: 1 }, returns: { kind: 'void' }, params: [] } } as unknown as EntryFunction;

async function snippetRequest(body: string, budget = 10_000): Promise<TraceRequest> {
  const files = memFs({ 'a.S': `.globl f\nf:\n${body.replace(/; */g, '\n')}\n` });
  const image = buildImage(files, 'a.S', { preprocess: (f, file) => plainSource(file, f.readFile(file)!) }).image;
  const revision = { name: 'snippet', files, provenance: { spec: 'snippet', base: { kind: 'tree', dir: '.' }, patches: [] }, functions: [VOID] } as unknown as Revision;
  const scenario = await scenarioFromObject({ name: 's', seamcall: { call: { leaf: 0 }, handler: { script: [{ return: { rax: 0 } }] } } }, 'test');
  return { revision, fn: VOID, scenario, image, sourceReads: ['a.S'], budget };
}

describe.skipIf(!SILICON)('traces on this CPU beyond the entry points', () => {
  it.each([
    ['int3 oops', 'nop; int3; ret'],
    ['ud2 oops', 'nop; ud2; ret'],
    ['PUSHF stores the flags without the trap flag; 16-bit pushes and pops', 'pushf; pop %rax; pushw %ax; pushfw; pop %ax; pop %ax; ret'],
    ['a frame, read-modify-write, xchg, push and pop through memory, leave', 'push %rbp; mov %rsp, %rbp; sub $0x20, %rsp; movq $5, -8(%rbp); addq $3, -8(%rbp); xchg %rax, -8(%rbp); push -8(%rbp); pop -16(%rbp); leave; ret'],
    ['a store of the value already there is a store', 'sub $16, %rsp; movq $0, (%rsp); movq $0, (%rsp); add $16, %rsp; ret'],
    ['call and ret (return addresses of the moved image mapped back)', 'call 1f; ret; 1: ret'],
    ['#GP at a load through a non-canonical address', 'mov $0x8000000000000000, %rax; movq (%rax), %rbx; ret'],
    ['#GP at a jmp to a non-canonical address', 'mov $0x8000000000000000, %rax; jmp *%rax'],
    ['#GP at a jmp through memory to a non-canonical address', 'mov $0x8000000000000000, %rax; push %rax; jmp *(%rsp)'],
    ['#GP at ret to a non-canonical address', 'mov $0x8000000000000000, %rax; push %rax; ret'],
    ['a wild load', 'mov $0x1000, %rax; movq 8(%rax), %rbx; ret'],
    ['a jump to unmapped memory', 'mov $0x1000, %rax; jmp *%rax'],
  ])('%s: the same trace', async (_what, body) => {
    const req = await snippetRequest(body);
    expectSameTrace(await onCpu(req), await recordTrace(req), body);
  });

  it('an endless loop is a runaway after the same number of steps, with the same last instructions', async () => {
    const req = await snippetRequest('1: inc %rax; jmp 1b', 301);
    const cpu = await onCpu(req);
    expectSameTrace(cpu, await recordTrace(req), 'loop');
    expect(cpu.steps).toHaveLength(301);
    expect(cpu.summary.end).toMatchObject({ kind: 'runaway', limit: 'instructions', budget: 301 });
  });

  it('where the SDM leaves a flag undefined the CPU trace shows what this CPU did; everything else is the same', async () => {
    const req = await snippetRequest('mov $0x1234, %rax; mov $3, %cl; shl %cl, %rax; imul %rax, %rax; mov $0x80, %rdx; bsf %rdx, %rdx; bsr %rax, %rbx; bt $3, %rax; mul %rdx; shr $1, %rax; rol $3, %rax; sar $7, %rax; xor %eax, %eax; ret');
    const cpu = await onCpu(req);
    const unicorn = await recordTrace(req);
    const disasm = await loadDisassembler();
    const strip = (s: TraceStep) => ({ ...s, regs: { ...s.regs, rflags: undefined }, flags: undefined });
    expect(cpu.steps.map(strip)).toEqual(unicorn.steps.map(strip));
    expect(cpu.summary).toEqual(unicorn.summary);
    // RFLAGS after every step, and which status flags the SDM defines there (src/oracle/flags.ts).
    let defined = ALL_STATUS_DEFINED;
    let rcx = BigInt(cpu.header.entry.regs.rcx!);
    let differ = 0;
    for (let i = 0; i < cpu.steps.length; i++) {
      const c = cpu.steps[i]!;
      const insn = disasm.decodeOne(Buffer.from(c.bytes.replace(/ /g, ''), 'hex'), 0, BigInt(c.rip));
      defined = definedAfter(defined, flagEffect(insn.mnemonic, insn.operands, rcx));
      rcx = BigInt(c.regs?.rcx?.[1] ?? rcx);
      const diff = rflagsAfter(cpu, i) ^ rflagsAfter(unicorn, i);
      expect(diff & defined, `${c.asm}: a flag the SDM defines differs`).toBe(0n);
      expect(diff & ~AF, c.asm).toBe(0n);
      if (diff) differ++;
    }
    // This CPU and Unicorn do set AF differently after some of these (the oracle's flag table exists for that).
    expect(differ).toBeGreaterThan(0);
  });

  it('a faulting store shows no access on the CPU (Unicorn shows the store it attempted, with the value); the rest is the same, the ABI check counting the attempted store', async () => {
    const req = await snippetRequest('mov $0x1000, %rax; movq %rbx, 8(%rax); ret');
    const cpu = await onCpu(req);
    const unicorn = await recordTrace(req);
    expect(unicorn.steps[1]!.mem).toEqual([{ op: 'w', addr: '0x1008', size: 8, value: expect.any(String) }]);
    expect(cpu.steps[1]!.mem).toBeUndefined();
    expect({ ...cpu.steps[1], mem: unicorn.steps[1]!.mem }).toEqual(unicorn.steps[1]);
    expect(cpu.summary).toEqual(unicorn.summary);
    expect(cpu.summary.end).toMatchObject({ kind: 'fault', access: 'write', address: '0x1008', size: 8 });
  });
});

describe('memory accesses worked out from the operands', () => {
  const regs = new BigUint64Array(18);
  regs[4] = 0x1000n; // rsp
  regs[5] = 0x2000n; // rbp
  regs[6] = 0x3000n; // rsi
  regs[1] = 3n; // rcx
  regs[7] = 0x4000n; // rdi
  const of = async (hex: string) => derivedAccesses((await loadDisassembler()).memoryOperands(Buffer.from(hex.replace(/ /g, ''), 'hex'), 0, 0x400000n), regs);
  // Expected accesses from the SDM's description of each instruction (Vol. 2), not from a recording.
  it.each([
    ['push %rbx', '53', [{ kind: 'write', address: 0xff8n, size: 8 }]],
    ['pushw %ax', '66 50', [{ kind: 'write', address: 0xffen, size: 2 }]],
    ['pop %rbx', '5b', [{ kind: 'read', address: 0x1000n, size: 8 }]],
    ['pop (%rsp) uses RSP after the increment', '8f 04 24', [{ kind: 'read', address: 0x1000n, size: 8 }, { kind: 'write', address: 0x1008n, size: 8 }]],
    ['push 8(%rsp) reads before it writes', 'ff 74 24 08', [{ kind: 'read', address: 0x1008n, size: 8 }, { kind: 'write', address: 0xff8n, size: 8 }]],
    ['call rel32', 'e8 00 00 00 00', [{ kind: 'write', address: 0xff8n, size: 8 }]],
    ['call *0x10(%rsi)', 'ff 56 10', [{ kind: 'read', address: 0x3010n, size: 8 }, { kind: 'write', address: 0xff8n, size: 8 }]],
    ['ret', 'c3', [{ kind: 'read', address: 0x1000n, size: 8 }]],
    ['leave', 'c9', [{ kind: 'read', address: 0x2000n, size: 8 }]],
    ['pushfq', '9c', [{ kind: 'write', address: 0xff8n, size: 8 }]],
    ['movq %r8, 0x10(%rsi)', '4c 89 46 10', [{ kind: 'write', address: 0x3010n, size: 8 }]],
    ['movzbl -1(%rsi,%rcx,4), %eax', '0f b6 44 8e ff', [{ kind: 'read', address: 0x300bn, size: 1 }]],
    ['addq %rax, (%rsi): read, then write', '48 01 06', [{ kind: 'read', address: 0x3000n, size: 8 }, { kind: 'write', address: 0x3000n, size: 8 }]],
    ['cmpq %rax, (%rsi): read only', '48 39 06', [{ kind: 'read', address: 0x3000n, size: 8 }]],
    ['cmpxchgq %rcx, (%rsi) (Capstone says read only)', '48 0f b1 0e', [{ kind: 'read', address: 0x3000n, size: 8 }, { kind: 'write', address: 0x3000n, size: 8 }]],
    ['rep stosq: one iteration a step (Capstone says read)', 'f3 48 ab', [{ kind: 'write', address: 0x4000n, size: 8 }]],
    ['movq 0x10(%rip), %rax: relative to the next instruction', '48 8b 05 10 00 00 00', [{ kind: 'read', address: 0x400017n, size: 8 }]],
    ['movq (%esi), %rax: 32-bit addressing', '67 48 8b 06', [{ kind: 'read', address: 0x3000n, size: 8 }]],
    ['leaq 0x10(%rsi), %rax: no access', '48 8d 46 10', []],
    ['nopl 0(%rax,%rax): no access', '0f 1f 44 00 00', []],
    ['movq %fs:0x28, %rax: segment base unknown, not derived', '64 48 8b 04 25 28 00 00 00', []],
    ['seamcall: the SEAM side', '66 0f 01 cf', []],
  ])('%s', async (_what, hex, expected) => {
    expect(await of(hex)).toEqual(expected);
  });
});

// ---- the command ---------------------------------------------------------------------

async function cli(args: string[], deps: Parameters<typeof registerTrace>[1] = {}): Promise<{ error?: SeamlabError }> {
  const program = new Command().exitOverride();
  registerTrace(program, deps);
  try {
    await program.parseAsync(args, { from: 'user' });
    return {};
  } catch (e) {
    if (!isSeamlabError(e)) throw e;
    return { error: e };
  }
}

describe.skipIf(!SILICON)('seamlab trace --on silicon', () => {
  it('writes a valid seamlab-trace whose header says silicon, in every format', async () => {
    const jsonl = path.join(tmp, 'cpu.jsonl');
    expect(await cli(['trace', 'v3', '--fn', '__seamcall', '--scenario', 'vmfailinvalid', '--on', 'silicon', '--format', 'jsonl', '-o', jsonl])).toEqual({});
    const t = parseTrace(fs.readFileSync(jsonl, 'utf8'), jsonl);
    expect(t.header.executor).toBe('silicon');
    expect(t.summary).toMatchObject({ end: { kind: 'returned' }, returnName: 'TDX_SEAMCALL_VMFAILINVALID', ok: true });
    const text = path.join(tmp, 'cpu.txt');
    expect(await cli(['trace', 'v3', '--fn', '__seamcall', '--scenario', 'vmfailinvalid', '--on', 'silicon', '--format', 'text', '-o', text])).toEqual({});
    expect(fs.readFileSync(text, 'utf8')).toMatch(/^# arch\/x86\/virt\/vmx\/tdx\/seamcall\.S, \d+ input files, executed on silicon$/m);
    const html = path.join(tmp, 'cpu.html');
    expect(await cli(['trace', 'v3', '--fn', '__seamcall', '--scenario', 'vmfailinvalid', '--on', 'silicon', '--format', 'html', '-o', html])).toEqual({});
    expect(fs.readFileSync(html, 'utf8')).toContain('"executor":"silicon"');
  });

  it('the installed command: exit 0, and the same bytes as the Unicorn trace but for the executor', () => {
    const a = path.join(tmp, 'a.jsonl');
    const b = path.join(tmp, 'b.jsonl');
    expect(seamlab(['trace', 'linux-6.12', '--fn', '__seamcall_ret', '--scenario', 'gp', '--on', 'silicon', '-o', a]).status).toBe(0);
    expect(seamlab(['trace', 'linux-6.12', '--fn', '__seamcall_ret', '--scenario', 'gp', '-o', b]).status).toBe(0);
    expect(fs.readFileSync(a, 'utf8')).toBe(fs.readFileSync(b, 'utf8').replace('"executor":"unicorn"', '"executor":"silicon"'));
  });
});

describe('seamlab trace --on silicon where ptrace is not permitted', () => {
  it('is a user error saying why, with a hint, and writes nothing', async () => {
    // A stand-in runner that answers HELLO with ptrace status EPERM, as runner.c does when its probe fails.
    const fake = path.join(tmp, 'no-ptrace-runner.mjs');
    const detail = 'ptrace(PTRACE_TRACEME) failed: Operation not permitted';
    fs.writeFileSync(fake, `#!${process.execPath}
const detail = Buffer.from(${JSON.stringify(detail)});
const head = Buffer.alloc(16);
head.writeUInt32LE(0x85, 0); head.writeUInt32LE(8 + detail.length, 4); head.writeUInt32LE(1, 8); head.writeUInt32LE(1, 12);
process.stdout.write(Buffer.concat([head, detail]));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
`);
    fs.chmodSync(fake, 0o755);
    const out = path.join(tmp, 'never.jsonl');
    const { error } = await cli(['trace', 'v3', '--fn', '__seamcall', '--on', 'silicon', '-o', out], { openSilicon: () => SiliconSession.open(fake) });
    expect(error?.code).toBe('TRACE_NO_SILICON');
    expect(error?.message).toBe(`cannot trace on this CPU (ORACLE_NO_PTRACE): this host does not let seamlab single-step a child process: ${detail}`);
    expect(error?.hint).toMatch(/ptrace_scope.*; or trace on Unicorn \(leave out --on silicon\)$/);
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith('never'))).toEqual([]);
  });

  it('--on takes unicorn or silicon only', () => {
    const r = seamlab(['trace', 'v3', '--fn', '__seamcall', '--on', 'qemu']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--on.*qemu.*unicorn, silicon/s);
  });
});
