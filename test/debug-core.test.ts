/**
 * The debugger core on the real kernel functions: v3 `__seamcall` (R0's
 * TDX_MODULE_CALL host=1, tdx-facts.md §1.1) and 6.12 `__seamcall_saved_ret`
 * (R5 host=1 ret=1 saved=1, §1.6).
 *
 * Expected lines come from the kernel source text (found by searching the
 * revision's own tdxcall.S/seamcall.S), expected values from tdx-facts.md
 * (leaf TDH.SYS.RD = 34 in RAX at the SEAMCALL, the stack layout at the
 * instruction), and expected states for reverse execution from an
 * independent forward run of the machine's run control: every reverse
 * operation must land in exactly the state forward stepping had there.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Debugger } from '../src/debug/debugger.js';
import { ExpressionError } from '../src/debug/expression.js';
import type { StopEvent } from '../src/debug/types.js';
import { resolveRevision } from '../src/intake/revision.js';
import { prepareRun } from '../src/run/run.js';
import { builtinScenario } from '../src/seam/builtin-scenarios.js';
import { GPR_NAMES } from '../src/support/registers.js';
import { formatPos } from '../src/support/source-location.js';
import { testImage } from './support/images.js';

const TDXCALL = 'arch/x86/virt/vmx/tdx/tdxcall.S';
const SEAMCALL = 'arch/x86/virt/vmx/tdx/seamcall.S';

const open: Debugger[] = [];
afterEach(() => {
  for (const d of open.splice(0)) d.close();
});

async function debug(rev: string, fn: string, scenario = 'success'): Promise<Debugger> {
  const d = await Debugger.open({ revision: resolveRevision(rev), fn, scenario: builtinScenario(scenario)! });
  open.push(d);
  return d;
}

/** The 1-based line of `file` whose text matches `re` (the n-th match), from the kernel source itself. */
function lineOf(d: Debugger, file: string, re: RegExp, nth = 0): number {
  const lines = d.sourceText(file)!.split('\n');
  const hits = lines.flatMap((l, i) => (re.test(l) ? [i + 1] : []));
  if (hits.length <= nth) throw new Error(`no line ${re} in ${file}`);
  return hits[nth]!;
}

/** The line a stop is shown on (frame 0), as file:line. */
function shown(d: Debugger): string {
  const f = d.backtrace()[0]!;
  return f.location ? formatPos(f.location.pos) : f.name;
}

/** What a caller and a debugger can see at a position: registers, the stack, the argument structs. */
function state(d: Debugger, stackTop: bigint) {
  const cpu = d.registers();
  return {
    regs: Object.fromEntries(GPR_NAMES.map((r) => [r, cpu.gprs[r]])), rip: cpu.rip, rflags: cpu.rflags,
    stack: Buffer.from(d.readMemory(stackTop - 256n, 320) ?? []).toString('hex'),
    structs: d.params().flatMap((p) => p.struct?.fields.map((f) => [f.path, f.value]) ?? []),
    seamCalls: d.seamCalls().length,
  };
}

/** The addresses an independent run of the machine executes, one per step. */
function referenceTrail(rev: string, fn: string, scenario: string): bigint[] {
  const r = resolveRevision(rev);
  const f = r.functions.find((x) => x.name === fn)!;
  const trail: bigint[] = [];
  const p = prepareRun(testImage(r, f.sourceFile), f, builtinScenario(scenario)!, { revision: rev, observers: [{ instruction: (_s, a) => { trail.push(a); } }] });
  try {
    p.complete();
  } finally {
    p.close();
  }
  return trail;
}

const CASES = [['v3', '__seamcall', 'success'], ['linux-6.12', '__seamcall_saved_ret', 'success'], ['linux-6.12', '__seamcall_saved_ret', 'ud']] as const;

describe('instruction stepping and exact reverse execution', () => {
  for (const [rev, fn, sc] of CASES) {
    it(`${rev} ${fn} × ${sc}: reverse-stepi lands in the state forward stepping had at every position`, async () => {
      const ref = referenceTrail(rev, fn, sc);
      const d = await debug(rev, fn, sc);
      const top = d.registers().gprs.rsp;
      const forward = [state(d, top)];
      const rips = [d.registers().rip];
      let ev: StopEvent = d.stopEvent();
      while (ev.reason !== 'exited') {
        ev = d.stepInstruction();
        forward.push(state(d, top));
        rips.push(d.registers().rip);
        expect(ev.position).toBe(forward.length - 1);
      }
      // The debugger executes what the machine's own run executes.
      expect(rips.slice(0, ref.length)).toEqual(ref);
      expect(ev.end?.kind).toBe('returned');
      for (let k = forward.length - 2; k >= 0; k--) {
        const back = d.reverseStepInstruction();
        expect(back.position).toBe(k);
        expect(back.reverse).toBe(true);
        expect(state(d, top)).toEqual(forward[k]);
      }
      expect(d.reverseStepInstruction().reason).toBe('start-of-run');
      // Forwards again after going back: the same run.
      const mid = Math.floor(forward.length / 2);
      d.stepInstruction(mid);
      expect(state(d, top)).toEqual(forward[mid]);
      d.reverseStepInstruction(3);
      expect(state(d, top)).toEqual(forward[mid - 3]);
    });
  }
});

describe('v3 __seamcall at source level', () => {
  it('starts at the entry, shown on the first line of the function body (FRAME_BEGIN invoked in seamcall.S)', async () => {
    const d = await debug('v3', '__seamcall');
    const ev = d.stopEvent();
    expect(ev.reason).toBe('entry');
    expect(ev.position).toBe(0);
    expect(shown(d)).toBe(`${SEAMCALL}:${lineOf(d, SEAMCALL, /^\s*FRAME_BEGIN/)}`);
    expect(ev.hiddenFrames).toBe(1);
  });

  it('`next` steps over each invocation: FRAME_BEGIN, TDX_MODULE_CALL host=1, FRAME_END, ret, then the run returns', async () => {
    const d = await debug('v3', '__seamcall');
    const lines = ['FRAME_BEGIN', 'TDX_MODULE_CALL host=1', 'FRAME_END', 'ret'].map((t) => `${SEAMCALL}:${lineOf(d, SEAMCALL, new RegExp(`^\\s*${t}\\s*$`))}`);
    const seen = [shown(d)];
    for (let i = 0; i < 3; i++) seen.push((d.nextLine(), shown(d)));
    expect(seen).toEqual(lines);
    const end = d.nextLine();
    expect(end.reason).toBe('exited');
    expect(end.end?.kind).toBe('returned');
    expect(end.result?.ok).toBe(true);
  });

  it('`step` enters the expansions: frame.h body, then the TDX_MODULE_CALL invocation, then its body line by line', async () => {
    const d = await debug('v3', '__seamcall');
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push((d.stepLine(), shown(d)));
    const frameH = seen[0]!.replace(/:\d+$/, '');
    expect(frameH).toMatch(/asm\/frame\.h$/);
    expect(seen).toEqual([
      `${frameH}:${lineOf(d, frameH, /push %_ASM_BP/)}`,
      `${frameH}:${lineOf(d, frameH, /_ASM_MOV %_ASM_SP, %_ASM_BP/)}`,
      `${SEAMCALL}:${lineOf(d, SEAMCALL, /^\s*TDX_MODULE_CALL host=1/)}`,
      `${TDXCALL}:${lineOf(d, TDXCALL, /^\s*push %r12/)}`,
      `${TDXCALL}:${lineOf(d, TDXCALL, /^\s*push %r9/)}`,
      `${TDXCALL}:${lineOf(d, TDXCALL, /^\s*mov %rdi, %rax/)}`,
    ]);
    // The expansion stack reads like a backtrace.
    const bt = d.backtrace();
    expect(bt.map((f) => [f.kind, f.name])).toEqual([['statement', '__seamcall+0x8'], ['macro', 'TDX_MODULE_CALL'], ['function', '__seamcall']]);
    expect(bt[1]!.text).toBe('TDX_MODULE_CALL host=1');
    expect(formatPos(bt[1]!.location!.pos)).toBe(`${SEAMCALL}:${lineOf(d, SEAMCALL, /^\s*TDX_MODULE_CALL/)}`);
    // `finish` leaves the macro: the next thing shown is the FRAME_END invocation.
    d.stepOut();
    expect(shown(d)).toBe(`${SEAMCALL}:${lineOf(d, SEAMCALL, /^\s*FRAME_END/)}`);
    // At depth 0 `finish` runs to the return.
    d.stepLine();
    d.stepLine();
    expect(d.stepOut().reason).toBe('exited');
  });

  it('a breakpoint on a macro body line stops there; RAX holds leaf TDH.SYS.RD (34) at the SEAMCALL', async () => {
    const d = await debug('v3', '__seamcall');
    const callerR12 = d.registers().gprs.r12;
    const line = lineOf(d, TDXCALL, /^\s*seamcall\s*$/);
    const bp = d.addBreakpoint({ kind: 'line', file: 'tdxcall.S', line });
    expect(bp).toMatchObject({ verified: true, file: TDXCALL });
    expect(bp.addresses).toHaveLength(1);
    const ev = d.continue();
    expect(ev).toMatchObject({ reason: 'breakpoint', breakpointIds: [bp.id] });
    expect(shown(d)).toBe(`${TDXCALL}:${line}`);
    expect(d.evaluate('$rax').value).toBe(34n);
    expect(d.seamCalls()).toHaveLength(0);
    // tdx-facts.md §1.1: at the SEAMCALL, [rsp] = out pointer, [rsp+8] = the caller's r12, [rsp+16] = saved rbp.
    const out = d.params().find((p) => p.name === 'out')!;
    expect(d.evaluate('*(u64*)$rsp').value).toBe(out.value);
    expect(d.evaluate('*(u64 *)($rsp + 8)').value).toBe(callerR12);
    expect(d.evaluate('*(u32*)($rsp+8)').value).toBe(callerR12 & 0xffffffffn);
    expect(d.evaluate('&out->r8').value).toBe(out.value + 16n);
    d.stepInstruction();
    expect(d.seamCalls()).toHaveLength(1);
    expect(d.seamCalls()[0]!.regsIn.rax).toBe(34n);
  });

  it('a line with no code moves to the next line with code; past the last code line stays unverified', async () => {
    const d = await debug('v3', '__seamcall');
    const comment = lineOf(d, TDXCALL, /Fetch output pointer from stack/);
    const bp = d.addBreakpoint({ kind: 'line', file: 'tdxcall.S', line: comment });
    expect(bp.verified).toBe(true);
    expect(bp.movedTo).toEqual({ file: TDXCALL, line: lineOf(d, TDXCALL, /^\s*pop %r12/) });
    expect(bp.message).toMatch(/has no code; moved to line/);
    // The `.else` branch (tdcall) is not assembled for host=1: moved too.
    const tdcall = d.addBreakpoint({ kind: 'line', file: TDXCALL, line: lineOf(d, TDXCALL, /^\s*tdcall\s*$/) });
    expect(tdcall.movedTo?.line).toBe(lineOf(d, TDXCALL, /^\s*pop %r12/));
    const past = d.addBreakpoint({ kind: 'line', file: SEAMCALL, line: lineOf(d, SEAMCALL, /SYM_FUNC_END/) + 1 });
    expect(past).toMatchObject({ verified: false, addresses: [] });
    expect(past.message).toMatch(/no code at or after line/);
    expect(d.addBreakpoint({ kind: 'line', file: 'nosuch.S', line: 1 })).toMatchObject({ verified: false, message: 'no code in this image comes from nosuch.S' });
    expect(d.addBreakpoint({ kind: 'function', name: 'nosuch' }).verified).toBe(false);
    expect(d.addBreakpoint({ kind: 'function', name: '__seamcall' }).addresses).toEqual([d.stopEvent().rip]);
  });

  it('watchpoints: out->r8 stops after the store of R8; $rax at the leaf move and at the SEAMCALL; reverse-continue stops before the writer', async () => {
    const d = await debug('v3', '__seamcall');
    const rax = d.addWatchpoint({ kind: 'register', register: 'rax' });
    const r8 = d.addWatchpoint({ kind: 'expression', expression: 'out->r8' });
    expect(r8).toMatchObject({ label: 'out->r8', size: 8 });
    const movLeaf = lineOf(d, TDXCALL, /^\s*mov %rdi, %rax/);
    let ev = d.continue();
    expect(ev.reason).toBe('watchpoint');
    expect(ev.watch).toMatchObject({ id: rax.id, new: 34n });
    const moved = ev.position;
    // Stopped after the instruction that changed RAX: one instruction back is the move.
    d.reverseStepInstruction();
    expect(shown(d)).toBe(`${TDXCALL}:${movLeaf}`);
    d.stepInstruction();
    ev = d.continue();
    expect(ev.watch).toMatchObject({ id: rax.id, old: 34n, new: 0n }); // TDX_SUCCESS from the SEAMCALL
    expect(d.seamCalls()).toHaveLength(1);
    ev = d.continue();
    expect(ev.watch).toMatchObject({ id: r8.id, old: 0x5a5a5a5a5a5a5a5an, new: d.seamCalls()[0]!.regsOut.r8 });
    const storedAt = ev.position;
    ev = d.reverseContinue();
    expect(ev).toMatchObject({ reason: 'watchpoint', reverse: true, position: storedAt - 1 });
    expect(ev.watch).toMatchObject({ id: r8.id, new: 0x5a5a5a5a5a5a5a5an });
    expect(shown(d)).toBe(`${TDXCALL}:${lineOf(d, TDXCALL, /movq %r8,\s+TDX_MODULE_r8/)}`);
    ev = d.reverseContinue();
    expect(ev.watch?.id).toBe(rax.id);
    ev = d.reverseContinue();
    expect(ev.position).toBe(moved - 1);
    expect(d.reverseContinue().reason).toBe('start-of-run');
    expect(d.watchpoints().find((w) => w.id === r8.id)!.hits).toBe(2);
  });

  it('edits are replayed: a register written at a position survives going back past later positions, not before it', async () => {
    const d = await debug('v3', '__seamcall');
    d.addBreakpoint({ kind: 'line', file: TDXCALL, line: lineOf(d, TDXCALL, /^\s*seamcall\s*$/) });
    d.continue();
    const at = d.position;
    d.writeRegister('rax', 33n); // TDH.SYS.INIT instead
    d.stepInstruction(3);
    d.reverseStepInstruction(3);
    expect(d.position).toBe(at);
    expect(d.evaluate('$rax').value).toBe(33n);
    d.stepInstruction();
    expect(d.seamCalls()[0]!.regsIn.rax).toBe(33n);
    d.reverseStepInstruction(2);
    expect(d.evaluate('$rax').value).not.toBe(33n);
    d.stepInstruction(2);
    expect(d.evaluate('$rax').value).toBe(34n);
  });

  it('expressions: registers, sub-registers, symbols, struct fields, casts, arithmetic; errors name the column', async () => {
    const d = await debug('v3', '__seamcall');
    const cpu = d.registers();
    expect(d.evaluate('rdi').value).toBe(34n);
    expect(d.evaluate('$edi + 1').value).toBe(35n);
    expect(d.evaluate('($rdi << 4) | 0xf').value).toBe(0x22fn);
    expect(d.evaluate('__seamcall').value).toBe(cpu.rip);
    expect(d.evaluate('$pc - __seamcall').value).toBe(0n);
    expect(d.evaluate('out->rcx')).toEqual({ value: 0x5a5a5a5a5a5a5a5an, size: 8, text: '0x5a5a5a5a5a5a5a5a' });
    expect(d.evaluate('(u64*)$rsp + 1').value).toBe(cpu.gprs.rsp + 8n);
    expect(d.evaluate('-1').value).toBe(0xffffffffffffffffn);
    const err = (e: string) => {
      try {
        d.evaluate(e);
      } catch (x) {
        expect(x).toBeInstanceOf(ExpressionError);
        return [(x as ExpressionError).column, (x as Error).message];
      }
      throw new Error(`no error for ${e}`);
    };
    expect(err('$rax +')).toEqual([7, 'expected a value, found the end of the expression (column 7)']);
    expect(err('*(u64*)($rsp+8')).toEqual([15, "expected ')', found the end of the expression (column 15)"]);
    expect(err('out->nope')[0]).toBe(6);
    expect(err('$nosuch')[0]).toBe(1);
    expect(err('*$rsp')[1]).toMatch(/not a pointer/);
    expect(err('1 / 0')[1]).toMatch(/division by zero/);
  });
});

describe('6.12 __seamcall_saved_ret: every control operation', () => {
  it('a breakpoint on a body line of the macro resolves to one address per expansion and hits in the function run', async () => {
    const d = await debug('linux-6.12', '__seamcall_saved_ret');
    const line = lineOf(d, TDXCALL, /^\s*mov %rdi, %rax/);
    const bp = d.addBreakpoint({ kind: 'line', file: 'tdxcall.S', line });
    // seamcall.S invokes TDX_MODULE_CALL three times (__seamcall, __seamcall_ret, __seamcall_saved_ret).
    const invocations = d.sourceText(SEAMCALL)!.split('\n').filter((l) => /^\s*TDX_MODULE_CALL/.test(l)).length;
    expect(invocations).toBe(3);
    expect(bp.addresses).toHaveLength(3);
    const ev = d.continue();
    expect(ev.breakpointIds).toEqual([bp.id]);
    expect(shown(d)).toBe(`${TDXCALL}:${line}`);
    expect(d.backtrace()[1]!.text).toBe('TDX_MODULE_CALL host=1 ret=1 saved=1');
    expect(d.continue().reason).toBe('exited');
    expect(bp.hits).toBe(1);
  });

  it('step, next, stepOut, runToReturn, seam-call breakpoints and the reverse line operations', async () => {
    const d = await debug('linux-6.12', '__seamcall_saved_ret');
    expect(shown(d)).toBe(`${SEAMCALL}:${lineOf(d, SEAMCALL, /TDX_MODULE_CALL host=1 ret=1 saved=1/)}`);
    // The whole function is one line at depth 0: `next` runs to the end.
    const snapshot = d.stopEvent();
    expect(d.nextLine().reason).toBe('exited');
    expect(d.reverseContinue()).toMatchObject({ reason: 'start-of-run', position: 0 });
    expect(d.stepLine().position).toBe(snapshot.position); // enters TDX_MODULE_CALL without executing
    expect(shown(d)).toBe(`${TDXCALL}:${lineOf(d, TDXCALL, /^\s*FRAME_BEGIN/)}`);
    d.nextLine();
    expect(shown(d)).toBe(`${TDXCALL}:${lineOf(d, TDXCALL, /^\s*mov %rdi, %rax/)}`);
    const movedAt = d.position;
    d.nextLine();
    expect(shown(d)).toBe(`${TDXCALL}:${lineOf(d, TDXCALL, /movq\s+TDX_MODULE_rcx\(%rsi\), %rcx/)}`);
    d.reverseNextLine();
    expect(d.position).toBe(movedAt);
    d.reverseNextLine();
    expect(shown(d)).toBe(`${TDXCALL}:${lineOf(d, TDXCALL, /^\s*FRAME_BEGIN/)}`);
    expect(d.position).toBe(0);
    d.reverseStepLine();
    expect(d.stopEvent().reason).toBe('start-of-run');

    const sc = d.addBreakpoint({ kind: 'seam-call' });
    expect(sc.addresses).toHaveLength(3);
    let ev = d.continue();
    expect(ev.reason).toBe('seam-call');
    expect(shown(d)).toBe(`${TDXCALL}:${lineOf(d, TDXCALL, /^\s*seamcall\s*$/)}`);
    // tdx-facts.md §1.6: at the instruction [rsp] = the args pointer, [rsp+56] = the return address.
    const args = d.params().find((p) => p.name === 'args')!;
    expect(d.evaluate('*(u64*)$rsp').value).toBe(args.value);
    const seamAt = d.position;
    d.stepLine();
    expect(d.seamCalls()).toHaveLength(1);
    // reverse-step across the SEAM call: the call is undone.
    ev = d.reverseStepLine();
    expect(ev.position).toBe(seamAt);
    expect(d.seamCalls()).toHaveLength(0);
    d.removeBreakpoint(sc.id);
    // stepOut of the only expansion: the function returns.
    ev = d.stepOut();
    expect(ev.reason).toBe('exited');
    expect(ev.result?.ok).toBe(true);
    // runToReturn from the start: the same end.
    d.restart();
    expect(d.runToReturn()).toMatchObject({ reason: 'exited', position: ev.position });
    // reverse-step from the end is the RET line, reverse-next at depth 1 passes FRAME_END as one line.
    d.reverseStepLine();
    expect(shown(d)).toBe(`${TDXCALL}:${lineOf(d, TDXCALL, /^\s*RET\s*$/)}`);
    d.reverseNextLine();
    expect(shown(d)).toBe(`${TDXCALL}:${lineOf(d, TDXCALL, /^\s*FRAME_END/)}`);
    d.reverseNextLine();
    expect(shown(d)).toBe(`${TDXCALL}:${lineOf(d, TDXCALL, /^\s*popq\s+%rbx/)}`);
  });

  it('catching the exception-table fixup of #UD, forwards and backwards', async () => {
    const d = await debug('linux-6.12', '__seamcall_saved_ret', 'ud');
    d.stopOnFixup = true;
    const ev = d.continue();
    expect(ev.reason).toBe('fixup');
    expect(shown(d)).toBe(`${TDXCALL}:${lineOf(d, TDXCALL, /movq \$TDX_SW_ERROR, %rdi/)}`);
    expect(d.evaluate('$rax').value).toBe(6n); // ex_handler_fault: regs->ax = trapnr (#UD = 6)
    const end = d.continue();
    expect(end.result?.returnValue).toBe(0x8000ff0000000006n); // TDX_SW_ERROR | 6
    expect(d.reverseContinue()).toMatchObject({ reason: 'fixup', position: ev.position });
  });

  it('continueAsync stops on interrupt()', async () => {
    const d = await debug('linux-6.12', '__seamcall_saved_ret');
    d.interrupt();
    const ev = await d.continueAsync();
    expect(ev.reason).toBe('interrupted');
    expect((await d.continueAsync()).reason).toBe('exited');
  });
});
