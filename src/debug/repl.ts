/**
 * The terminal front end of the debugger core: gdb's command names and
 * abbreviations (break/b, tbreak, delete/d, info breakpoints, run/r,
 * continue/c, stepi/si, step/s, next/n, finish, reverse-stepi/rsi,
 * reverse-step/rs, reverse-next/rn, reverse-continue/rc, info registers,
 * x/FMT, print/p, display, watch/rwatch/awatch, list/l, backtrace/bt,
 * info seam, info line, quit), unique prefixes as in gdb, an empty line
 * repeating the last command, and completion of commands, files,
 * functions, registers and struct fields. Interpreting commands only: the
 * core does the work, src/report/debug-text.ts the formatting, and
 * src/cli/debug.ts the terminal (readline) or the batch file.
 */
import { formatError, isSeamlabError, SeamlabError } from '../errors.js';
import { hexU64 } from '../support/format.js';
import { formatPos } from '../support/source-location.js';
import { REGISTER_VIEWS } from '../support/registers.js';
import {
  gdbSymbol, registerRows, renderBacktrace, renderBreakpointTable, renderInstructions, renderList, renderMemory, renderParams,
  renderRegisters, renderSeamCalls, renderStop, structText, type XFormat,
} from '../report/debug-text.js';
import type { Debugger } from './debugger.js';
import { typeName } from './expression.js';
import { listLines } from './source-view.js';
import type { BreakpointSpec, StopEvent, WatchAccess } from './types.js';

type Handler = (args: string, fmt: string) => void | Promise<void>;

interface Command {
  name: string;
  /** gdb's fixed abbreviations (besides unique prefixes). */
  aliases: string[];
  help: string;
  run: Handler;
}

interface Display {
  id: number;
  expression: string;
  fmt: string;
}

const LIST_SIZE = 10;

function parseCount(args: string, what: string): number {
  const t = args.trim();
  if (!t) return 1;
  const n = Number(t);
  if (!Number.isSafeInteger(n) || n < 1) throw new SeamlabError('DEBUG_BAD_COUNT', `${what} takes a positive count, not "${t}"`, `e.g. ${what} 3`);
  return n;
}

function parseNumber(s: string): bigint | undefined {
  const t = s.trim();
  if (/^-?(0x[0-9a-f]+|\d+)$/i.test(t)) return BigInt.asUintN(64, t.startsWith('-') ? -BigInt(t.slice(1)) : BigInt(t));
  return undefined;
}

export class DebugRepl {
  /** Commands that failed (a batch run exits non-zero when any did). */
  errors = 0;
  private readonly commands: Command[];
  private readonly displays: Display[] = [];
  private nextDisplay = 1;
  private lastCommand = '';
  private lastStopFile: string | undefined;
  private valueCount = 0;
  /** Where the next bare `list` continues (file, first line). */
  private listNext: { file: string; line: number } | undefined;
  private listFirst: { file: string; line: number } | undefined;

  /**
   * `interactive`: an empty line repeats the last command, as at gdb's
   * prompt (not in scripts, where an empty line is nothing).
   */
  constructor(private readonly d: Debugger, private readonly print: (line: string) => void, private readonly opts: { interactive?: boolean } = {}) {
    this.commands = this.table();
    this.lastStopFile = d.backtrace()[0]!.location?.pos.file;
  }

  /** Prints where the debugger stands now (the entry, when just opened). */
  showStop(ev: StopEvent = this.d.stopEvent(), instructionLevel = false): void {
    const frame = this.d.backtrace()[0]!;
    const file = frame.location?.pos.file;
    const lines = renderStop(ev, {
      frame,
      ...(file ? { sourceLine: this.sourceLine(file, frame.location!.pos.line) } : {}),
      breakpoints: this.d.breakpoints(), watchpoints: this.d.watchpoints(), seamKind: this.d.fn.kind,
      showAddress: instructionLevel && ev.reason !== 'exited',
      showHeader: file !== this.lastStopFile,
    });
    for (const l of lines) this.print(l);
    this.lastStopFile = ev.reason === 'exited' ? undefined : file;
    this.listNext = undefined;
    this.listFirst = undefined;
    if (ev.reason !== 'exited') this.showDisplays();
  }

  private sourceLine(file: string, line: number): string | undefined {
    return this.d.sourceText(file)?.split('\n')[line - 1];
  }

  /** Runs one command line. Returns false for `quit`. */
  async execute(input: string): Promise<boolean> {
    let line = input.trim();
    if (line.startsWith('#')) return true;
    if (line === '') {
      line = this.opts.interactive ? this.lastCommand : '';
      if (!line) return true;
    } else this.lastCommand = line;
    const m = /^([A-Za-z-]+)(\/\S*)?\s*(.*)$/.exec(line);
    if (!m) {
      this.fail(new SeamlabError('DEBUG_UNKNOWN_COMMAND', `undefined command: "${line}"`, 'try "help"'));
      return true;
    }
    const [, word, fmt, args] = m;
    if (/^(q|quit|exit)$/.test(word!)) return false;
    try {
      const cmd = this.lookup(word!);
      await cmd.run(args!, fmt ? fmt.slice(1) : '');
    } catch (e) {
      this.fail(e);
    }
    return true;
  }

  private fail(e: unknown): void {
    this.errors++;
    if (isSeamlabError(e)) {
      for (const l of formatError(e).split('\n')) this.print(l);
      return;
    }
    throw e;
  }

  private lookup(word: string): Command {
    const exact = this.commands.find((c) => c.name === word || c.aliases.includes(word));
    if (exact) return exact;
    const prefixed = this.commands.filter((c) => c.name.startsWith(word));
    if (prefixed.length === 1) return prefixed[0]!;
    if (prefixed.length > 1) throw new SeamlabError('DEBUG_AMBIGUOUS_COMMAND', `ambiguous command "${word}": ${prefixed.map((c) => c.name).sort().join(', ')}`, 'type more of the command name');
    throw new SeamlabError('DEBUG_UNKNOWN_COMMAND', `undefined command: "${word}"`, 'try "help"');
  }

  /** readline completer: commands, then files/functions (break, list), registers and fields (print, watch …). */
  complete(line: string): [string[], string] {
    const m = /^(\S*)$/.exec(line);
    if (m) {
      const names = [...new Set(this.commands.flatMap((c) => [c.name]))].filter((n) => n.startsWith(m[1]!)).sort();
      return [names, m[1]!];
    }
    const word = /(\S*)$/.exec(line)![1]!;
    const cmd = line.trim().split(/[\s/]/)[0]!;
    let pool: string[];
    if (/^(b|br|break|tbreak|l|list|info)$/.test(cmd)) {
      pool = [
        ...[...this.d.map.linesToAddresses().keys()].map((f) => `${f.slice(f.lastIndexOf('/') + 1)}:`),
        ...this.d.image.symbols.filter((s) => s.type === 'func' && !s.stub).map((s) => s.name),
        ...(cmd === 'info' ? ['breakpoints', 'registers', 'seam', 'line', 'args', 'display', 'watchpoints'] : []),
      ];
    } else {
      pool = [
        ...[...REGISTER_VIEWS.keys()].map((r) => `$${r}`),
        ...this.d.params().flatMap((p) => p.struct ? [p.name, ...p.struct.fields.map((f) => f.path)] : []),
      ];
    }
    return [[...new Set(pool)].filter((p) => p.startsWith(word)).sort(), word];
  }

  private showDisplays(): void {
    for (const disp of this.displays) {
      try {
        this.print(`${disp.id}: ${disp.fmt ? `/${disp.fmt} ` : ''}${disp.expression} = ${this.valueText(disp.expression, disp.fmt)}`);
      } catch (e) {
        if (!isSeamlabError(e)) throw e;
        this.print(`${disp.id}: ${disp.expression} = <error: ${e.message}>`);
      }
    }
  }

  /** A value as `print` shows it: decimal by default, /x hex, /t binary, /o octal, /c, /a address. */
  private valueText(expression: string, fmt: string): string {
    const whole = /^\s*\*\s*([A-Za-z_]\w*)\s*$/.exec(expression);
    const letter = fmt.replace(/\d/g, '') || 'd';
    const show = (v: bigint) => (letter === 'x' ? hexU64(v) : letter === 'o' ? `0${v.toString(8)}` : letter === 't' ? v.toString(2) : letter === 'a' ? hexU64(v) : letter === 'c' ? `${v}` : letter === 'd' ? BigInt.asIntN(64, v).toString() : v.toString());
    if (whole) {
      const p = this.d.params().find((x) => x.name === whole[1] && x.struct);
      if (p) return structText(p, show);
    }
    const v = this.d.evaluateValue(expression);
    if (v.type.kind === 'pointer') {
      const sym = this.d.map.symbolAt(v.value);
      const label = this.d.labelOf(v.value);
      const pointee = typeName(v.type.to);
      return `(${pointee} *) ${hexU64(v.value)}${sym ? ` <${gdbSymbol(sym)}>` : label ? ` <${label}>` : ''}`;
    }
    if (v.type.kind === 'int' && v.type.signed && letter === 'd') return BigInt.asIntN(v.type.size * 8, v.value).toString();
    if (letter === 'd' && v.type.kind === 'int') return v.type.size === 8 ? BigInt.asIntN(64, v.value).toString() : v.value.toString();
    return show(v.value);
  }

  // ---- location arguments -------------------------------------------------------------

  /** `FILE:LINE`, `LINE` (in the file shown), `FUNCTION`, `*ADDRESS`. */
  private parseLocation(arg: string): BreakpointSpec {
    const t = arg.trim();
    if (!t) {
      const f = this.d.backtrace()[0]!;
      if (!f.location) throw new SeamlabError('DEBUG_NO_LOCATION', 'no source line here', 'give a location: FILE:LINE, LINE, FUNCTION or *ADDRESS');
      return { kind: 'line', file: f.location.pos.file, line: f.location.pos.line };
    }
    if (t.startsWith('*')) return { kind: 'address', address: this.d.evaluate(t.slice(1)).value };
    const fl = /^(.+):(\d+)$/.exec(t);
    if (fl) return { kind: 'line', file: fl[1]!, line: Number(fl[2]) };
    if (/^\d+$/.test(t)) {
      const file = this.currentFile();
      return { kind: 'line', file, line: Number(t) };
    }
    return { kind: 'function', name: t };
  }

  private currentFile(): string {
    const f = this.d.backtrace()[0]!;
    if (f.location) return f.location.pos.file;
    return this.d.fn.sourceFile;
  }

  private addBreak(arg: string, temporary: boolean): void {
    const bp = this.d.addBreakpoint(this.parseLocation(arg), { temporary });
    if (!bp.verified) {
      this.d.removeBreakpoint(bp.id);
      throw new SeamlabError('DEBUG_BREAK_UNRESOLVED', bp.message ?? 'no code there', 'pick a line with code (list), a function name or *ADDRESS');
    }
    const label = temporary ? 'Temporary breakpoint' : 'Breakpoint';
    const where = bp.spec.kind === 'line' ? `file ${bp.file}, line ${bp.movedTo?.line ?? bp.spec.line}` : (this.d.map.locate(bp.addresses[0]!) ? `file ${formatPos(this.d.map.locate(bp.addresses[0]!)!.location.pos).replace(/:(\d+)$/, ', line $1')}` : '');
    if (bp.addresses.length === 1) this.print(`${label} ${bp.id} at ${hexU64(bp.addresses[0]!)}: ${where}.`);
    else this.print(`${label} ${bp.id} at ${bp.spec.kind === 'line' ? `${bp.file}:${bp.movedTo?.line ?? bp.spec.line}` : 'every SEAM call'}: ${bp.addresses.length} locations (${bp.addresses.map(hexU64).join(', ')}).`);
    if (bp.movedTo) this.print(`(${bp.message})`);
  }

  private addWatch(arg: string, access: WatchAccess): void {
    if (!arg.trim()) throw new SeamlabError('DEBUG_WATCH_EMPTY', 'watch what?', 'e.g. watch out->r8, watch $rax, watch *(u64*)($rsp+8)');
    const w = this.d.addWatchpoint({ kind: 'expression', expression: arg, access });
    const kind = access === 'read' ? 'Hardware read watchpoint' : access === 'access' ? 'Hardware access (read/write) watchpoint' : 'Hardware watchpoint';
    this.print(`${kind} ${w.id}: ${w.label}`);
  }

  // ---- commands ---------------------------------------------------------------------

  private run(op: () => StopEvent, instructionLevel = false): void {
    this.showStop(op(), instructionLevel);
  }

  private repeat(n: number, op: () => StopEvent, instructionLevel = false): void {
    let ev = this.d.stopEvent();
    for (let i = 0; i < n; i++) {
      ev = op();
      if (ev.reason !== 'step') break;
    }
    this.showStop(ev, instructionLevel);
  }

  private table(): Command[] {
    const d = this.d;
    const infoSubs: Record<string, (args: string) => void> = {
      breakpoints: () => renderBreakpointTable(d.breakpoints(), d.watchpoints(), (a) => d.map.symbolAt(a)).forEach((l) => this.print(l)),
      watchpoints: () => renderBreakpointTable([], d.watchpoints(), (a) => d.map.symbolAt(a)).forEach((l) => this.print(l)),
      registers: (args) => {
        const rows = registerRows(d.registers(), (a) => d.map.symbolAt(a));
        const want = args.split(/\s+/).filter(Boolean).map((r) => r.replace(/^\$/, '').toLowerCase()).map((r) => (r === 'rflags' ? 'eflags' : r));
        const picked = want.length ? want.map((w) => {
          const row = rows.find((r) => r[0] === w);
          if (!row) throw new SeamlabError('DEBUG_UNKNOWN_REGISTER', `invalid register "${w}"`, 'registers: rax … r15, rip, eflags, cs … gs, fs_base, gs_base');
          return row;
        }) : rows;
        renderRegisters(picked).forEach((l) => this.print(l));
      },
      seam: () => renderSeamCalls(d.seamCalls(), (a) => d.map.symbolAt(a)).forEach((l) => this.print(l)),
      line: (args) => this.infoLine(args),
      args: () => renderParams(d.params()).forEach((l) => this.print(l)),
      display: () => {
        if (!this.displays.length) return this.print('There are no auto-display expressions now.');
        this.print('Auto-display expressions now in effect:');
        for (const x of this.displays) this.print(`${x.id}:   y  ${x.fmt ? `/${x.fmt} ` : ''}${x.expression}`);
      },
    };
    const infoAliases: Record<string, string> = { b: 'breakpoints', break: 'breakpoints', r: 'registers', reg: 'registers', regs: 'registers', all: 'registers', 'all-registers': 'registers', w: 'watchpoints' };
    return [
      { name: 'break', aliases: ['b', 'br', 'brea'], help: 'break [FILE:LINE | LINE | FUNCTION | *ADDRESS]: set a breakpoint (a macro body line: one location per expansion)', run: (a) => this.addBreak(a, false) },
      { name: 'tbreak', aliases: [], help: 'tbreak LOCATION: a breakpoint deleted when hit', run: (a) => this.addBreak(a, true) },
      {
        name: 'catch', aliases: [], help: 'catch seamcall | fixup: stop at every SEAMCALL/TDCALL before it is served, or where an exception-table fixup continues',
        run: (a) => {
          const what = a.trim();
          if (/^(seamcall|tdcall|seam)$/.test(what)) {
            const bp = d.addBreakpoint({ kind: 'seam-call' });
            if (!bp.verified) {
              d.removeBreakpoint(bp.id);
              throw new SeamlabError('DEBUG_BREAK_UNRESOLVED', bp.message ?? 'no SEAM call', 'this function makes no SEAM call');
            }
            this.print(`Catchpoint ${bp.id} (${d.fn.kind}): ${bp.addresses.length} location${bp.addresses.length === 1 ? '' : 's'}`);
          } else if (what === 'fixup') {
            d.stopOnFixup = true;
            this.print('Catching exception-table fixups.');
          } else throw new SeamlabError('DEBUG_BAD_CATCH', `cannot catch "${what}"`, 'catch seamcall, or catch fixup');
        },
      },
      {
        name: 'delete', aliases: ['d'], help: 'delete [N…]: delete breakpoints/watchpoints (all without arguments)',
        run: (a) => {
          const ids = a.split(/\s+/).filter(Boolean).map(Number);
          if (!ids.length) {
            for (const b of d.breakpoints()) d.removeBreakpoint(b.id);
            for (const w of d.watchpoints()) d.removeWatchpoint(w.id);
            return;
          }
          for (const id of ids) if (!d.removeBreakpoint(id) && !d.removeWatchpoint(id)) throw new SeamlabError('DEBUG_NO_BREAKPOINT', `no breakpoint number ${id}`, 'see info breakpoints');
        },
      },
      { name: 'disable', aliases: [], help: 'disable N…', run: (a) => a.split(/\s+/).filter(Boolean).forEach((id) => d.setBreakpointEnabled(Number(id), false)) },
      { name: 'enable', aliases: [], help: 'enable N…', run: (a) => a.split(/\s+/).filter(Boolean).forEach((id) => d.setBreakpointEnabled(Number(id), true)) },
      { name: 'run', aliases: ['r'], help: 'run: start again from the entry and continue to a breakpoint or the end', run: () => { d.restart(); this.run(() => d.continue()); } },
      { name: 'start', aliases: ['starti'], help: 'start: start again, stopped at the entry', run: () => this.run(() => d.restart()) },
      { name: 'continue', aliases: ['c', 'cont', 'fg'], help: 'continue: run to a breakpoint, watchpoint or the end', run: async () => this.showStop(await d.continueAsync()) },
      { name: 'stepi', aliases: ['si'], help: 'stepi [N]: execute N instructions', run: (a) => this.run(() => d.stepInstruction(parseCount(a, 'stepi')), true) },
      { name: 'nexti', aliases: ['ni'], help: 'nexti [N]: as stepi (the TDX assembly makes no calls)', run: (a) => this.run(() => d.stepInstruction(parseCount(a, 'nexti')), true) },
      { name: 'step', aliases: ['s'], help: 'step [N]: to the next source line, entering macro expansions', run: (a) => this.repeat(parseCount(a, 'step'), () => d.stepLine()) },
      { name: 'next', aliases: ['n'], help: 'next [N]: to the next line at this macro depth (a macro invocation is one line)', run: (a) => this.repeat(parseCount(a, 'next'), () => d.nextLine()) },
      { name: 'finish', aliases: ['fin'], help: 'finish: out of the innermost macro expansion; outside any: run to the return', run: () => this.run(() => d.stepOut()) },
      { name: 'reverse-stepi', aliases: ['rsi'], help: 'reverse-stepi [N]: back N instructions', run: (a) => this.run(() => d.reverseStepInstruction(parseCount(a, 'reverse-stepi')), true) },
      { name: 'reverse-nexti', aliases: ['rni'], help: 'reverse-nexti [N]: as reverse-stepi', run: (a) => this.run(() => d.reverseStepInstruction(parseCount(a, 'reverse-nexti')), true) },
      { name: 'reverse-step', aliases: ['rs'], help: 'reverse-step [N]: back to the start of the previous source line', run: (a) => this.repeat(parseCount(a, 'reverse-step'), () => d.reverseStepLine()) },
      { name: 'reverse-next', aliases: ['rn'], help: 'reverse-next [N]: back to the previous line at this macro depth', run: (a) => this.repeat(parseCount(a, 'reverse-next'), () => d.reverseNextLine()) },
      { name: 'reverse-continue', aliases: ['rc'], help: 'reverse-continue: back to the previous breakpoint/watchpoint hit or the start', run: () => this.run(() => d.reverseContinue()) },
      {
        name: 'info', aliases: ['i', 'inf'], help: 'info breakpoints | watchpoints | registers [REG…] | seam | line [LOCATION] | args | display',
        run: (a) => {
          const [sub = '', ...rest] = a.trim().split(/\s+/);
          const full = infoAliases[sub] ?? Object.keys(infoSubs).filter((k) => k.startsWith(sub));
          const keys = typeof full === 'string' ? [full] : full;
          if (!sub || keys.length !== 1) throw new SeamlabError('DEBUG_BAD_INFO', `"info ${sub}" is not known${keys.length > 1 ? ` (ambiguous: ${keys.join(', ')})` : ''}`, `info ${Object.keys(infoSubs).join(' | ')}`);
          infoSubs[keys[0]!]!(rest.join(' '));
        },
      },
      { name: 'x', aliases: [], help: 'x/NFU ADDR: examine memory (F: x d u o t c a i; U: b h w g)', run: (a, f) => this.examine(a, f) },
      {
        name: 'print', aliases: ['p', 'inspect'], help: 'print[/x] EXPR: $rax, rcx, args->rcx, *(u64*)($rsp+8), *out …',
        run: (a, f) => {
          if (!a.trim()) throw new SeamlabError('DEBUG_EXPRESSION', 'print what?', 'e.g. p $rax, p/x out->r8, p *args');
          this.print(`$${++this.valueCount} = ${this.valueText(a, f)}`);
        },
      },
      {
        name: 'display', aliases: [], help: 'display[/x] EXPR: print EXPR at every stop',
        run: (a, f) => {
          if (!a.trim()) return this.showDisplays();
          this.valueText(a, f); // reject a bad expression now
          this.displays.push({ id: this.nextDisplay++, expression: a.trim(), fmt: f });
          const x = this.displays[this.displays.length - 1]!;
          this.print(`${x.id}: ${f ? `/${f} ` : ''}${x.expression} = ${this.valueText(x.expression, f)}`);
        },
      },
      {
        name: 'undisplay', aliases: [], help: 'undisplay [N…]',
        run: (a) => {
          const ids = a.split(/\s+/).filter(Boolean).map(Number);
          const keep = this.displays.filter((x) => ids.length && !ids.includes(x.id));
          this.displays.splice(0, this.displays.length, ...keep);
        },
      },
      { name: 'watch', aliases: [], help: 'watch EXPR: stop when it changes (register, out->r8, *(u64*)ADDR, any expression)', run: (a) => this.addWatch(a, 'write') },
      { name: 'rwatch', aliases: [], help: 'rwatch EXPR: stop when memory is read', run: (a) => this.addWatch(a, 'read') },
      { name: 'awatch', aliases: [], help: 'awatch EXPR: stop when memory is read or written', run: (a) => this.addWatch(a, 'access') },
      { name: 'list', aliases: ['l'], help: 'list [LINE | FILE:LINE | FUNCTION | -]: source, with macro invocations expanded under them', run: (a) => this.list(a) },
      { name: 'backtrace', aliases: ['bt', 'where'], help: 'backtrace: the statement, the macro expansions around it, the function', run: () => renderBacktrace(d.backtrace()).forEach((l) => this.print(l)) },
      {
        name: 'set', aliases: [], help: 'set var EXPR = VALUE | set $REG = VALUE',
        run: (a) => {
          const m = /^(?:var(?:iable)?\s+)?(.+?)\s*=\s*(.+)$/.exec(a.trim());
          if (!m) throw new SeamlabError('DEBUG_BAD_SET', `cannot parse "set ${a}"`, 'set var $rax = 0x21, set var out->r8 = 0');
          d.assign(m[1]!, parseNumber(m[2]!) ?? d.evaluate(m[2]!).value);
        },
      },
      { name: 'disassemble', aliases: [], help: 'disassemble: the instructions of the function, => at RIP', run: () => this.disassemble() },
      {
        name: 'help', aliases: ['h'], help: 'help: this list',
        run: () => {
          for (const c of this.commands) this.print(`${c.name}${c.aliases.length ? ` (${c.aliases.join(', ')})` : ''} — ${c.help}`);
          this.print('quit (q) — leave');
        },
      },
    ];
  }

  private examine(arg: string, fmt: string): void {
    // gdb takes the format and unit letters in either order: x/6gx and x/6xg.
    const m = /^(\d*)([a-z]*)$/.exec(fmt);
    const letters = m?.[2] ?? '';
    const formats = [...letters].filter((c) => 'xduotcai'.includes(c));
    const unitLetters = [...letters].filter((c) => 'bhwg'.includes(c));
    if (!m || formats.length > 1 || unitLetters.length > 1 || formats.length + unitLetters.length !== letters.length) {
      throw new SeamlabError('DEBUG_BAD_FORMAT', `invalid format /${fmt}`, 'x/NFU: N count, F one of x d u o t c a i, U one of b h w g (e.g. x/6gx out)');
    }
    const count = m[1] ? Number(m[1]) : 1;
    const letter = formats[0] ?? 'x';
    if (!arg.trim()) throw new SeamlabError('DEBUG_EXPRESSION', 'x needs an address', 'e.g. x/6gx out, x/4i $pc');
    const address = this.d.evaluate(arg).value;
    if (letter === 'i') {
      renderInstructions(this.d.disassemble(address, 0, count), this.d.registers().rip).forEach((l) => this.print(l));
      return;
    }
    const size = unitLetters[0] ? { b: 1, h: 2, w: 4, g: 8 }[unitLetters[0] as 'b' | 'h' | 'w' | 'g'] : letter === 'a' ? 8 : letter === 'c' ? 1 : 4;
    const bytes = this.d.readMemory(address, count * size);
    if (!bytes) throw new SeamlabError('DEBUG_UNMAPPED', `cannot access memory at address ${hexU64(address)}`, 'examine memory the run can reach: the stack, the argument structs, physical memory');
    const units: bigint[] = [];
    for (let i = 0; i < count; i++) {
      let v = 0n;
      for (let j = size - 1; j >= 0; j--) v = (v << 8n) | BigInt(bytes[i * size + j]!);
      units.push(v);
    }
    renderMemory(address, units, size, letter as XFormat, (a) => this.d.labelOf(a) ?? (this.d.map.symbolAt(a) ? gdbSymbol(this.d.map.symbolAt(a)!) : undefined)).forEach((l) => this.print(l));
  }

  private infoLine(arg: string): void {
    const spec = arg.trim() ? this.parseLocation(arg) : undefined;
    let file: string;
    let line: number;
    if (!spec) {
      const f = this.d.backtrace()[0]!;
      if (!f.location) throw new SeamlabError('DEBUG_NO_LOCATION', 'no source line here', 'give a location: info line FILE:LINE');
      ({ file, line } = f.location.pos);
    } else if (spec.kind === 'line') {
      const bp = this.d.addBreakpoint(spec);
      this.d.removeBreakpoint(bp.id);
      if (!bp.file) throw new SeamlabError('DEBUG_NO_LOCATION', bp.message ?? 'no such line', 'info line FILE:LINE');
      file = bp.file;
      line = spec.line;
    } else {
      const address = spec.kind === 'address' ? spec.address : this.d.evaluate(spec.kind === 'function' ? spec.name : '$pc').value;
      const loc = this.d.map.locate(address);
      if (!loc) throw new SeamlabError('DEBUG_NO_LOCATION', `no line information for ${hexU64(address)}`, 'the address is outside the image');
      ({ file, line } = loc.location.pos);
    }
    const entries = this.d.map.addressesOf(file, line).filter((e) => e.kind === 'insn' || e.kind === 'data');
    if (!entries.length) {
      this.print(`Line ${line} of "${file}" has no code in this image.`);
      return;
    }
    for (const e of entries) {
      const sym = this.d.map.symbolAt(e.address);
      const end = e.address + BigInt(e.size);
      const symEnd = this.d.map.symbolAt(end);
      const macro = e.location.gasStack[0];
      const via = e.via === 'expansion' ? ` (${e.location.pos.file.slice(e.location.pos.file.lastIndexOf('/') + 1)}:${e.location.pos.line} of the expansion)` : macro ? ` (in .macro ${macro.name} invoked at ${formatPos(macro.invokedAt)})` : '';
      this.print(`Line ${line} of "${file}" starts at address ${hexU64(e.address)}${sym ? ` <${gdbSymbol(sym)}>` : ''} and ends at ${hexU64(end)}${symEnd ? ` <${gdbSymbol(symEnd)}>` : ''}: ${e.text}${via}.`);
    }
  }

  private list(arg: string): void {
    const t = arg.trim();
    let file: string;
    let first: number;
    if (!t) {
      if (this.listNext) ({ file, line: first } = this.listNext);
      else {
        const f = this.d.backtrace()[0]!;
        if (!f.location) throw new SeamlabError('DEBUG_NO_LOCATION', 'no source line here', 'list FILE:LINE or list FUNCTION');
        file = f.location.pos.file;
        first = Math.max(1, f.location.pos.line - 5);
      }
    } else if (t === '-') {
      if (!this.listFirst) throw new SeamlabError('DEBUG_NO_LOCATION', 'nothing listed yet', 'list first');
      file = this.listFirst.file;
      first = Math.max(1, this.listFirst.line - LIST_SIZE);
    } else {
      const spec = this.parseLocation(t);
      if (spec.kind === 'line') {
        const files = [...this.d.map.linesToAddresses().keys()];
        const match = files.find((f) => f === spec.file) ?? files.find((f) => f.endsWith(`/${spec.file}`)) ?? (this.d.sourceText(spec.file) !== undefined ? spec.file : undefined);
        if (!match) throw new SeamlabError('DEBUG_NO_SOURCE', `no source file named ${spec.file}`, 'list FILE:LINE with a file the function uses (info line, backtrace)');
        file = match;
        first = Math.max(1, spec.line - 5);
      } else {
        const address = spec.kind === 'address' ? spec.address : spec.kind === 'function' ? this.d.evaluate(spec.name).value : this.d.registers().rip;
        const loc = this.d.map.locate(address);
        if (!loc) throw new SeamlabError('DEBUG_NO_LOCATION', `no line information for ${t}`, 'list FILE:LINE');
        const outer = loc.location.gasStack.length ? loc.location.gasStack[loc.location.gasStack.length - 1]!.invokedAt : loc.location.pos;
        file = outer.file;
        first = Math.max(1, outer.line - 5);
      }
    }
    const text = this.d.sourceText(file);
    if (text === undefined) throw new SeamlabError('DEBUG_NO_SOURCE', `cannot read ${file}`, 'the revision has no such file');
    const shown = this.d.backtrace()[0]!.location;
    const context = shown && shown.pos.file === file ? shown.gasStack : [];
    const lines = listLines(text, file, first, first + LIST_SIZE - 1, this.d.listing, context);
    if (!lines.length) throw new SeamlabError('DEBUG_NO_SOURCE', `line ${first} is out of range for "${file}"`, 'list an earlier line');
    renderList(lines).forEach((l) => this.print(l));
    this.listFirst = { file, line: first };
    this.listNext = { file, line: first + LIST_SIZE };
  }

  private disassemble(): void {
    const rip = this.d.registers().rip;
    const sym = this.d.image.symbols.find((s) => s.section !== null && s.type === 'func' && rip >= s.address && rip < s.address + s.size)
      ?? this.d.image.symbols.find((s) => s.name === this.d.fn.name)!;
    const insns = this.d.disassemble(sym.address, 0, 4096).filter((i) => i.valid && i.address < sym.address + sym.size);
    this.print(`Dump of assembler code for function ${sym.name}:`);
    renderInstructions(insns, rip).forEach((l) => this.print(l));
    this.print('End of assembler dump.');
  }
}
