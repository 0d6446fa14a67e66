/**
 * A trace for the terminal (`seamlab trace --format text`): one line per
 * instruction — step, symbol+offset, bytes, AT&T instruction, source line
 * and the macro it came from — then indented lines for what it did:
 * changed registers and flags, memory accesses with their names, the SEAM
 * call served there, the exception-table fixup taken there. Lines fit the
 * given width (cells are cut with "…", columns never shift); colour marks
 * changed registers only when asked for (a TTY without NO_COLOR).
 */
import type { Trace, TraceHeader, TraceStep, TraceSummary } from '../trace/format.js';

export interface TextStyle {
  /** Columns available (Infinity when piped). */
  width: number;
  color: boolean;
}

const ESC = '\u001b[';
const paint = (on: boolean, code: string, s: string) => (on ? `${ESC}${code}m${s}${ESC}0m` : s);

/** "arch/x86/virt/vmx/tdx/tdxcall.S:52" → "tdxcall.S:52". */
function short(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function cut(s: string, n: number): string {
  if (n <= 0) return '';
  return s.length <= n ? s : n === 1 ? '…' : `${s.slice(0, n - 1)}…`;
}

export function renderHeader(h: TraceHeader): string[] {
  const rev = h.revision.package ? `${h.revision.spec} (${h.revision.package} ${h.revision.packageVersion ?? ''})`.trim() : h.revision.spec;
  return [
    `# ${h.function} of ${rev}, profile ${h.profile}, scenario ${h.scenario.name}`,
    `# ${h.prototype}`,
    `# ${h.sourceFile}, ${h.revision.inputs.length} input files, executed on ${h.executor}`,
  ];
}

/** Column widths for the first line of each step. */
interface Columns { step: number; sym: number; bytes: number; asm: number }

function columnsFor(steps: readonly TraceStep[]): Columns {
  let sym = 8;
  let bytes = 2;
  let asm = 8;
  for (const s of steps) {
    sym = Math.max(sym, (s.sym ?? s.rip).length);
    bytes = Math.max(bytes, s.bytes.length);
    asm = Math.max(asm, s.asm.length);
  }
  return { step: Math.max(1, String(Math.max(0, steps.length - 1)).length), sym: Math.min(sym, 28), bytes: Math.min(bytes, 20), asm: Math.min(asm, 36) };
}

export function renderStep(s: TraceStep, cols: Columns, style: TextStyle): string[] {
  const src = s.src ? short(s.src) + (s.macros?.length ? ` ‹${s.macros.map((m) => m.replace(/ at (.*)$/, (_, p: string) => ` ${short(p)}`)).join(' ‹ ')}›` : '') : '';
  const head = `${String(s.step).padStart(cols.step)}  ${cut(s.sym ?? s.rip, cols.sym).padEnd(cols.sym)}  ${cut(s.bytes, cols.bytes).padEnd(cols.bytes)}  ${cut(s.asm, cols.asm).padEnd(cols.asm)}`;
  const room = style.width - head.length - 2;
  const lines = [src && room > 0 ? `${head}  ${cut(src, room)}` : head.trimEnd()];
  const indent = ' '.repeat(cols.step + 2);
  const items: string[] = [];
  for (const [name, [a, b]] of Object.entries(s.regs ?? {})) {
    if (name === 'rflags') continue;
    items.push(`${paint(style.color, '1;33', name)} ${a}→${paint(style.color, '1;33', b)}`);
  }
  if (s.flags) items.push([...s.flags.set.map((f) => `+${f}`), ...s.flags.cleared.map((f) => `-${f}`)].join(' '));
  for (const m of s.mem ?? []) items.push(`${m.op === 'w' ? 'W' : 'R'} ${m.label ?? m.addr}${m.label ? `@${m.addr}` : ''} ${m.op === 'w' ? '←' : '→'} ${m.value}${m.size !== 8 ? ` (${m.size}B)` : ''}`);
  lines.push(...wrap(items, indent, style.width));
  if (s.seam) lines.push(...wrap([seamText(s.seam)], indent, style.width));
  if (s.fault) lines.push(`${indent}#${vectorName(s.fault.vector)}${s.fault.fixup ? ` → exception-table fixup at ${s.fault.fixup}` : ' with no exception-table entry: oops'}`);
  return lines;
}

function seamText(e: NonNullable<TraceStep['seam']>): string {
  const o = e.outcome;
  const answer = o.kind === 'return' ? `${e.statusName ?? o.rax}${o.regs ? ` ${Object.entries(o.regs).map(([k, x]) => `${k}=${x}`).join(' ')}` : ''}`
    : o.kind === 'fault' ? `#${o.vector ?? '?'}` : o.kind === 'vmfailinvalid' ? 'VMfailInvalid (CF=1)' : o.kind === 'vmfailvalid' ? 'VMfailValid (ZF=1)' : o.kind;
  const path = e.path === 'resumed' ? '' : e.path === 'exception-table' ? ', continued at the exception-table fixup' : ', oops';
  const mem = e.memWrites.length ? `; wrote ${e.memWrites.length} buffer${e.memWrites.length === 1 ? '' : 's'}` : '';
  return `${e.kind.toUpperCase()} #${e.index} ${e.leafName ?? e.leaf} asked of ${e.handler} → ${answer}${o.note ? ` (${o.note})` : ''}${path}${mem}`;
}

const VECTORS: Record<number, string> = { 6: 'UD', 13: 'GP', 14: 'PF', 3: 'BP', 0: 'DE' };
function vectorName(n: number): string {
  return VECTORS[n] ?? String(n);
}

/** Items joined by two spaces, wrapped at `width` (an item longer than a line gets a line of its own, cut). */
function wrap(items: string[], indent: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  const visible = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '').length;
  for (const it of items) {
    if (line && visible(indent + line + '  ' + it) > width) {
      out.push(indent + line);
      line = '';
    }
    line = line ? `${line}  ${it}` : it;
  }
  if (line) out.push(indent + line);
  return out;
}

export function renderSummary(s: TraceSummary): string[] {
  const end = s.end.kind === 'returned' ? `returned ${s.returnValue ?? ''}${s.returnName ? ` (${s.returnName})` : ''}` : `ended: ${s.end.kind}`;
  const checks = s.checks.map((c) => `${c.name} ${c.status}`).join(', ');
  return [`# ${end} after ${s.instructions} instructions; ${checks}; ${s.ok ? 'ok' : 'FAILED'}`];
}

export function renderTrace(t: Trace, style: TextStyle): string {
  const cols = columnsFor(t.steps);
  return [...renderHeader(t.header), ...t.steps.flatMap((s) => renderStep(s, cols, style)), ...renderSummary(t.summary)].join('\n') + '\n';
}

export { columnsFor, type Columns };
