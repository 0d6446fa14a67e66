/**
 * The debugger as text (`seamlab debug`), in gdb's manner: stops
 * ("Breakpoint 1, __seamcall+0x14 at …tdxcall.S:48" and the source line),
 * watchpoint old/new values, `info registers` columns with RFLAGS decoded,
 * `x/FMT` memory lines, the breakpoint table, the macro-expansion backtrace,
 * the SEAM calls made, and `list` with each macro invocation's expanded
 * statements shown under it. Pure formatting of the core's data: no state.
 */
import type { ListedLine } from '../debug/source-view.js';
import type { Breakpoint, Frame, InstructionView, ParamView, StopEvent, Watchpoint } from '../debug/types.js';
import type { CpuState } from '../machine/cpu-state.js';
import type { SeamCallRecord } from '../machine/run-types.js';
import type { RunResult } from '../run/run.js';
import { leafName, statusName } from '../seam/codes.js';
import { hex, hexU64 } from '../support/format.js';
import { DISPLAY_ORDER, flagNames, type GprName } from '../support/registers.js';
import { formatPos } from '../support/source-location.js';
import { endText, returnText } from './run-report.js';

/** What a stop needs besides the event: the line shown and the names of what hit. */
export interface StopContext {
  frame: Frame;
  /** The text of the line shown (frame 0's position), without its newline. */
  sourceLine?: string;
  breakpoints: readonly Breakpoint[];
  watchpoints: readonly Watchpoint[];
  /** 'seamcall' or 'tdcall': what a SEAM-call breakpoint stopped at. */
  seamKind: 'seamcall' | 'tdcall';
  /** Print the address before the line (instruction steps, or a stop not at the line's start). */
  showAddress: boolean;
  /** Print the "… at file:line" header even for a plain step (the file changed). */
  showHeader: boolean;
}

function where(f: Frame): string {
  return f.location ? `${f.name} at ${formatPos(f.location.pos)}` : f.name;
}

/** `48\t\tseamcall` (gdb's source line), with the address first for instruction-level stops. */
export function sourceLineText(f: Frame, text: string | undefined, showAddress: boolean): string {
  const line = f.location ? `${f.location.pos.line}\t${text ?? f.text}` : `${f.text}`;
  return showAddress ? `${hexU64(f.address)}\t${line}` : line;
}

export function renderStop(ev: StopEvent, ctx: StopContext): string[] {
  const out: string[] = [];
  const f = ctx.frame;
  if (ev.reason === 'exited') return [`[Run ended: ${ev.result ? runEndText(ev.result) : ev.end ? endText(ev.end) : 'ended'}]`];
  switch (ev.reason) {
    case 'breakpoint': {
      const bps = ctx.breakpoints.filter((b) => ev.breakpointIds?.includes(b.id));
      const temp = bps.length > 0 && bps.every((b) => b.temporary);
      out.push(`${temp ? 'Temporary breakpoint' : 'Breakpoint'} ${(ev.breakpointIds ?? []).join(', ')}, ${where(f)}`);
      break;
    }
    case 'seam-call':
      out.push(`${ctx.seamKind.toUpperCase()} breakpoint ${(ev.breakpointIds ?? []).join(', ')}, ${where(f)}`);
      break;
    case 'watchpoint':
      break;
    case 'fixup':
      out.push(`Caught an exception-table fixup, ${where(f)}`);
      break;
    case 'interrupted':
      out.push(`Interrupted, ${where(f)}`);
      break;
    case 'start-of-run':
      out.push('No more reverse-execution history.', where(f));
      break;
    case 'entry':
      out.push(where(f));
      break;
    case 'step':
      if (ctx.showHeader) out.push(where(f));
      break;
  }
  if (ev.watch) {
    const w = ctx.watchpoints.find((x) => x.id === ev.watch!.id);
    const kind = w?.access === 'read' ? 'Hardware read watchpoint' : w?.access === 'access' ? 'Hardware access (read/write) watchpoint' : 'Hardware watchpoint';
    out.push(`${kind} ${ev.watch.id}: ${w?.label ?? '?'}`, '');
    if (ev.watch.access === 'read' || ev.watch.old === ev.watch.new) out.push(`Value = ${hexU64(ev.watch.new)}`);
    else out.push(`Old value = ${hexU64(ev.watch.old)}`, `New value = ${hexU64(ev.watch.new)}`);
    if (ev.reason === 'watchpoint') out.push(where(f));
  }
  out.push(sourceLineText(f, ctx.sourceLine, ctx.showAddress));
  return out;
}

export function runEndText(r: RunResult): string {
  if (r.end.kind !== 'returned') return `${endText(r.end)}${r.expectedOops ? ' (the scenario injected this fault)' : ''}`;
  return `returned ${returnText(r)}`;
}

// ---- registers --------------------------------------------------------------------

const GDB_ORDER: readonly GprName[] = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];

/** RFLAGS as gdb shows it: `[ IF ZF PF ]` (highest bit first). */
export function rflagsText(v: bigint): string {
  const names = flagNames(v).reverse();
  return `[ ${names.join(' ')}${names.length ? ' ' : ''}]`;
}

export type RegisterRow = [name: string, value: bigint, natural: string];

/** Every register `info registers` shows, in gdb's order; `symbolAt` names code addresses. */
export function registerRows(cpu: CpuState, symbolAt: (a: bigint) => string | undefined): RegisterRow[] {
  const rows: RegisterRow[] = GDB_ORDER.map((r) => [r, cpu.gprs[r], r === 'rsp' || r === 'rbp' ? hexU64(cpu.gprs[r]) : BigInt.asIntN(64, cpu.gprs[r]).toString()]);
  const sym = symbolAt(cpu.rip);
  rows.push(['rip', cpu.rip, `${hexU64(cpu.rip)}${sym ? ` <${gdbSymbol(sym)}>` : ''}`]);
  rows.push(['eflags', cpu.rflags, rflagsText(cpu.rflags)]);
  for (const s of ['cs', 'ss', 'ds', 'es', 'fs', 'gs'] as const) rows.push([s, cpu.segments[s], cpu.segments[s].toString()]);
  rows.push(['fs_base', cpu.fsBase, cpu.fsBase.toString()], ['gs_base', cpu.gsBase, cpu.gsBase.toString()]);
  return rows;
}

/** gdb writes symbol offsets in decimal: `__seamcall+20`. */
export function gdbSymbol(sym: string): string {
  return sym.replace(/\+0x([0-9a-f]+)$/, (_m, h: string) => `+${parseInt(h, 16)}`);
}

export function renderRegisters(rows: readonly RegisterRow[]): string[] {
  return rows.map(([n, v, nat]) => `${n.padEnd(15)}${hexU64(v).padEnd(19)}${nat}`);
}

// ---- memory ---------------------------------------------------------------------------

export type XFormat = 'x' | 'd' | 'u' | 'o' | 't' | 'c' | 'a';

/** One `x/FMT` unit as gdb prints it. */
export function formatUnit(v: bigint, size: number, fmt: XFormat): string {
  switch (fmt) {
    case 'x': return `0x${v.toString(16).padStart(size * 2, '0')}`;
    case 'd': return BigInt.asIntN(size * 8, v).toString();
    case 'u': return v.toString();
    case 'o': return v === 0n ? '0' : `0${v.toString(8)}`;
    case 't': return v.toString(2).padStart(size * 8, '0');
    case 'c': return `${v}${v >= 32n && v < 127n ? ` '${String.fromCharCode(Number(v))}'` : ''}`;
    case 'a': return hexU64(v);
  }
}

/** Units per line, as gdb lays them out. */
export function unitsPerLine(size: number, fmt: XFormat): number {
  if (fmt === 'a' || size === 8) return 2;
  return size === 4 ? 4 : 8;
}

/** `0x20000000 <out->rcx>:\t0x0000000000000000\t…` lines. */
export function renderMemory(address: bigint, units: readonly bigint[], size: number, fmt: XFormat, labelAt: (a: bigint) => string | undefined): string[] {
  const per = unitsPerLine(size, fmt);
  const out: string[] = [];
  for (let i = 0; i < units.length; i += per) {
    const at = address + BigInt(i * size);
    const label = labelAt(at);
    out.push(`${hexU64(at)}${label ? ` <${label}>` : ''}:\t${units.slice(i, i + per).map((u) => formatUnit(u, size, fmt)).join('\t')}`);
  }
  return out;
}

/** `=> 0xffffffff81000014 <__seamcall+20>:\tseamcall`. */
export function renderInstructions(insns: readonly InstructionView[], rip: bigint): string[] {
  return insns.map((i) => `${i.address === rip ? '=> ' : '   '}${hexU64(i.address)}${i.symbol ? ` <${gdbSymbol(i.symbol)}>` : ''}:\t${i.text}`);
}

// ---- breakpoints, frames, SEAM calls ------------------------------------------------------

function specText(b: Breakpoint): string {
  switch (b.spec.kind) {
    case 'line': return `${b.file ?? b.spec.file}:${b.movedTo?.line ?? b.spec.line}`;
    case 'function': return b.spec.name;
    case 'address': return `*${hexU64(b.spec.address)}`;
    case 'seam-call': return 'every SEAMCALL/TDCALL';
  }
}

export function renderBreakpointTable(bps: readonly Breakpoint[], wps: readonly Watchpoint[], symbolAt: (a: bigint) => string | undefined): string[] {
  const rows: { id: number; lines: string[] }[] = [];
  const head = (id: string, type: string, disp: string, enb: string, addr: string, what: string) => `${id.padEnd(8)}${type.padEnd(15)}${disp.padEnd(5)}${enb.padEnd(4)}${addr.padEnd(19)}${what}`.trimEnd();
  for (const b of bps) {
    const lines: string[] = [];
    const type = b.spec.kind === 'seam-call' ? 'catchpoint' : 'breakpoint';
    const disp = b.temporary ? 'del' : 'keep';
    const enb = b.enabled ? 'y' : 'n';
    if (b.addresses.length === 1) {
      const sym = symbolAt(b.addresses[0]!);
      lines.push(head(String(b.id), type, disp, enb, hexU64(b.addresses[0]!), `${sym ? `in ${sym} ` : ''}at ${specText(b)}`));
    } else {
      lines.push(head(String(b.id), type, disp, enb, b.addresses.length ? '<MULTIPLE>' : '<PENDING>', specText(b)));
    }
    if (b.hits) lines.push(`\tbreakpoint already hit ${b.hits} time${b.hits === 1 ? '' : 's'}`);
    if (b.addresses.length > 1) {
      b.addresses.forEach((a, i) => {
        const sym = symbolAt(a);
        lines.push(head(`${b.id}.${i + 1}`, '', '', enb, hexU64(a), sym ? `in ${sym}` : ''));
      });
    }
    rows.push({ id: b.id, lines });
  }
  for (const w of wps) {
    const type = w.access === 'read' ? 'read watchpoint' : w.access === 'access' ? 'acc watchpoint' : 'hw watchpoint';
    const lines = [head(String(w.id), type, 'keep', 'y', '', w.label)];
    if (w.hits) lines.push(`\tbreakpoint already hit ${w.hits} time${w.hits === 1 ? '' : 's'}`);
    rows.push({ id: w.id, lines });
  }
  if (!rows.length) return ['No breakpoints or watchpoints.'];
  rows.sort((a, b) => a.id - b.id);
  return [head('Num', 'Type', 'Disp', 'Enb', 'Address', 'What'), ...rows.flatMap((r) => r.lines)];
}

export function renderBacktrace(frames: readonly Frame[]): string[] {
  return frames.map((f) => {
    const at = f.location ? ` at ${formatPos(f.location.pos)}` : '';
    const n = `#${f.index}`.padEnd(4);
    switch (f.kind) {
      case 'statement': return `${n}${hexU64(f.address)} in ${f.name}${at}: ${f.text}`;
      case 'macro': return `${n}${f.text}${at} (.${f.name === '.rept' || f.name.startsWith('.') ? f.name.slice(1) : `macro ${f.name}`}${f.counter !== undefined ? `, \\@ = ${f.counter}` : ''})`;
      case 'function': return `${n}${f.name}${at}${f.text ? `: ${f.text}` : ''}`;
    }
  });
}

export function renderSeamCalls(calls: readonly SeamCallRecord[], symbolAt: (a: bigint) => string | undefined): string[] {
  if (!calls.length) return ['No SEAM call has been made yet.'];
  const out: string[] = [];
  for (const c of calls) {
    const ln = leafName(c.kind, c.regsIn.rax);
    const sym = symbolAt(c.address);
    out.push(`${c.kind.toUpperCase()} #${c.index} at ${hexU64(c.address)}${sym ? ` <${sym}>` : ''}${c.location ? ` (${formatPos(c.location.location.pos)})` : ''}: leaf ${hex(c.regsIn.rax)}${ln ? ` ${ln}` : ''}`);
    out.push(`  in:  ${DISPLAY_ORDER.filter((r) => r !== 'rsp' && r !== 'rbp').map((r) => `${r}=${hex(c.regsIn[r])}`).join(' ')}`);
    const o = c.outcome;
    const status = o.kind === 'return' ? `${hex(o.rax)}${statusName(o.rax) ? ` ${statusName(o.rax)}` : ''}` : o.kind === 'fault' ? `#${o.vector}` : o.kind;
    out.push(`  handler ${c.handler}: ${o.kind === 'return' ? `RAX = ${status}` : status}${o.note ? ` (${o.note})` : ''}; ${c.path === 'resumed' ? 'resumed after the instruction' : c.path === 'exception-table' ? 'continued at the exception-table fixup' : 'no exception-table entry: oops'}`);
    const changed = DISPLAY_ORDER.filter((r) => c.regsOut[r] !== c.regsIn[r]);
    out.push(`  out: ${changed.length ? changed.map((r) => `${r}=${hex(c.regsOut[r])}`).join(' ') : 'no register changed'}; ${rflagsText(c.rflagsOut)}`);
    for (const w of c.memWrites) out.push(`  handler wrote ${w.length} bytes of physical memory at ${hexU64(w.address)}`);
  }
  return out;
}

export function renderParams(params: readonly ParamView[]): string[] {
  const out: string[] = [];
  for (const p of params) {
    out.push(`${p.name} = ${p.struct ? `(struct ${p.struct.name} *) ${hexU64(p.value)}` : p.role === 'null' ? '(NULL)' : hexU64(p.value)}  [${p.register}]`);
    for (const f of p.struct?.fields ?? []) out.push(`  ${f.path} = ${hexU64(f.value)}`);
  }
  return out;
}

/** gdb's `{rcx = 0x0, rdx = 0x0, …}` for `print *args`. */
export function structText(p: ParamView, fmt: (v: bigint) => string): string {
  return `{${(p.struct?.fields ?? []).map((f) => `${f.name} = ${fmt(f.value)}`).join(', ')}}`;
}

// ---- list ---------------------------------------------------------------------------------

function short(file: string): string {
  return file.slice(file.lastIndexOf('/') + 1);
}

export function renderList(lines: readonly ListedLine[]): string[] {
  const out: string[] = [];
  for (const l of lines) {
    out.push(`${l.line}\t${l.text}`);
    for (const e of l.expansion ?? []) out.push(`\t${'  '.repeat(e.depth)}| ${`${short(e.pos.file)}:${e.pos.line}`.padEnd(16)} ${e.text}`);
  }
  return out;
}
