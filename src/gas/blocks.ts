/**
 * Block directives: `.macro`/`.endm`/`.exitm`/`.purgem` and the
 * repetitions `.rept`/`.irp`/`.irpc`/`.endr` (gas/macro.c and read.c's
 * drivers). A block's body is collected up to its matching end directive
 * (buffer_and_nest), then expanded onto the input stack.
 */
import type { GasFrame, SourceLocation } from '../support/source-location.js';
import type { Assembler, MacroEntry } from './assembler.js';
import { expandStatements, ListSource, RepeatSource, type Stmt } from './input.js';
import { bindMacroArgs, blockDelta, getAnyString, getToken, MacroError, parseMacroHeader, skipComma, skipWhite, substituteBody, type BlockKind } from './macros.js';

/** Reads statements up to the matching end directive (buffer_and_nest). */
function collectBlock(asm: Assembler, kind: BlockKind, opener: Stmt): Stmt[] {
  const src = asm.inputs[asm.inputs.length - 1]!;
  const body: Stmt[] = [];
  let depth = 1;
  for (;;) {
    const s = src.next();
    if (!s) {
      const what = kind === 'macro' ? '.macro (missing .endm)' : '.rept/.irp (missing .endr)';
      throw asm.error(kind === 'macro' ? 'GAS_UNBALANCED_MACRO' : 'GAS_UNBALANCED_REPT', `unexpected end of ${src.kind === 'file' ? 'file' : 'macro expansion'} inside ${what}`, `add the ${kind === 'macro' ? '.endm' : '.endr'} that closes this block`, opener);
    }
    const d = blockDelta(s.text, kind);
    depth += d.delta;
    if (depth === 0) {
      if (d.labelPrefix.trim() !== '') body.push({ text: d.labelPrefix, location: s.location });
      return body;
    }
    body.push(s);
  }
}

/** .macro/.endm/.exitm/.purgem/.rept/.irp/.irpc/.endr; returns false for other directives. */
export function blockDirective(asm: Assembler, name: string, args: string): boolean {
  const stmt = asm.stmt;
  switch (name) {
    case 'macro': {
      const start = asm.here();
      let header;
      try {
        header = parseMacroHeader(args);
      } catch (e) {
        if (e instanceof MacroError) throw asm.error(e.code, e.message, 'write .macro NAME param[=default|:req|:vararg] ...');
        throw e;
      }
      for (const w of header.warnings) asm.warn(w);
      const body = collectBlock(asm, 'macro', stmt);
      if (asm.macros.has(header.def.name)) {
        throw asm.error('GAS_MACRO_REDEFINED', `macro \`${header.def.displayName}' was already defined`, 'use .purgem before redefining a macro');
      }
      asm.macros.set(header.def.name, { def: header.def, body, definedAt: asm.origin(stmt) });
      asm.log.push({ origin: asm.origin(stmt), section: asm.current, start, end: start, kind: 'directive' });
      return true;
    }
    case 'endm':
      throw asm.error('GAS_UNBALANCED_MACRO', '".endm" without ".macro"', 'remove it or add the .macro');
    case 'endr':
      throw asm.error('GAS_UNBALANCED_REPT', '".endr" without ".rept", ".irp" or ".irpc"', 'remove it or add the opening directive');
    case 'exitm': {
      const idx = lastMacroInput(asm, );
      if (idx < 0) throw asm.error('GAS_BAD_DIRECTIVE', '".exitm" outside a macro', 'use .exitm only inside a .macro body');
      const nest = asm.macroNest();
      // cond_exit_macro: drop conditionals opened inside this expansion.
      while (asm.conds.length > 0 && asm.conds[asm.conds.length - 1]!.macroNest >= nest) asm.conds.pop();
      asm.inputs.length = idx;
      return true;
    }
    case 'purgem': {
      for (const raw of args.split(',')) {
        const n = raw.trim().toLowerCase();
        if (n === '') continue;
        if (!asm.macros.delete(n)) asm.warn(`macro \`${raw.trim()}' was not defined`);
      }
      return true;
    }
    case 'rept':
    case 'rep': {
      const count = args.trim() === '' ? 0n : asm.absolute(asm.parseExpr(args), '.rept');
      const body = collectBlock(asm, 'rept', stmt);
      let n = Number(count);
      if (count < 0n) {
        asm.warn('negative count for REPT - ignored');
        n = 0;
      }
      checkRepetition(asm, n, body.length);
      const counter = asm.macroNumber;
      asm.log.push({ origin: asm.origin(stmt), section: asm.current, start: asm.here(), end: asm.here(), kind: 'rept' });
      asm.inputs.push(
        new RepeatSource(
          n,
          (pass) => {
            const gasStack = stackOf(expansionFrame('rept', '.rept', stmt, counter, pass), stmt);
            return body.map((b) => ({ text: b.text, location: expanded(b.location, gasStack) }));
          },
          asm.conds.length,
        ),
      );
      return true;
    }
    case 'irp':
    case 'irpc':
    case 'irep':
    case 'irepc': {
      const irpc = name === 'irpc' || name === 'irepc';
      const tok = getToken(args, skipWhite(args, 0));
      if (tok.token === '') throw asm.error('GAS_BAD_ARGUMENT', `missing model parameter in .${name}`, `write .${name} name, values...`);
      const values = irpValues(args, skipComma(args, tok.end), irpc);
      const body = collectBlock(asm, 'rept', stmt);
      checkRepetition(asm, values.length, body.length);
      const counter = asm.macroNumber;
      asm.log.push({ origin: asm.origin(stmt), section: asm.current, start: asm.here(), end: asm.here(), kind: 'rept' });
      asm.inputs.push(
        new RepeatSource(
          values.length,
          (pass) => {
            const vals = new Map([[tok.token, values[pass]!]]);
            const gasStack = stackOf(expansionFrame('rept', `.${name}`, stmt, counter, pass), stmt);
            return body.flatMap((b) => expandStatements(substitute(asm, b.text, vals, counter), expanded(b.location, gasStack)));
          },
          asm.conds.length,
        ),
      );
      return true;
    }
  }
  return false;
}

/** The frame an expansion adds: where it is invoked (the invoking statement's line and include stack). */
function expansionFrame(kind: GasFrame['kind'], name: string, invoker: Stmt, counter: number, pass?: number): GasFrame {
  const at = invoker.location;
  const frame: GasFrame = { kind, name, invokedAt: at.pos, includeStack: at.includeStack, invocation: invoker.text.trim(), counter };
  if (pass !== undefined) frame.pass = pass;
  return frame;
}

/** The expansion stack inside a new expansion: its frame over the invoker's stack. */
function stackOf(frame: GasFrame, invoker: Stmt): readonly GasFrame[] {
  return [frame, ...invoker.location.gasStack];
}

/** A body line's location inside an expansion: its own line (position, include and cpp stacks), under the expansion's stack. */
function expanded(body: SourceLocation, gasStack: readonly GasFrame[]): SourceLocation {
  return { ...body, gasStack };
}

function checkRepetition(asm: Assembler, passes: number, bodyLength: number): void {
  if (passes * Math.max(bodyLength, 1) > asm.limits.maxStatements) {
    throw asm.error('GAS_STATEMENT_LIMIT', `repetition of ${passes} passes over ${bodyLength} statements exceeds the limit of ${asm.limits.maxStatements} statements`, 'check the repetition count');
  }
}

function lastMacroInput(asm: Assembler): number {
  for (let i = asm.inputs.length - 1; i >= 0; i--) if (asm.inputs[i]!.kind === 'macro') return i;
  return -1;
}

function substitute(asm: Assembler, text: string, values: ReadonlyMap<string, string>, counter: number): string {
  try {
    return substituteBody(text, values, counter);
  } catch (e) {
    if (e instanceof MacroError) throw asm.error(e.code, e.message, 'close the \\( with )');
    throw e;
  }
}

export function expandMacro(asm: Assembler, entry: MacroEntry, args: string): void {
  const stmt = asm.stmt;
  if (asm.macroNest() >= asm.limits.maxMacroDepth) {
    throw asm.error('GAS_MACRO_DEPTH', `macros nested too deeply (more than ${asm.limits.maxMacroDepth} levels)`, 'a macro probably invokes itself without a terminating .if');
  }
  let bound;
  try {
    bound = bindMacroArgs(entry.def, args);
  } catch (e) {
    if (e instanceof MacroError) throw asm.error(e.code, e.message, `check the arguments against the definition of ${entry.def.displayName} at ${entry.definedAt.pos.file}:${entry.definedAt.pos.line}`);
    throw e;
  }
  for (const w of bound.warnings) asm.warn(w);
  const counter = asm.macroNumber;
  const gasStack = stackOf(expansionFrame('macro', entry.def.displayName, stmt, counter), stmt);
  const out: Stmt[] = [];
  for (const b of entry.body) {
    out.push(...expandStatements(substitute(asm, b.text, bound.values, counter), expanded(b.location, gasStack)));
  }
  asm.macroNumber++;
  asm.log.push({ origin: asm.origin(stmt), section: asm.current, start: asm.here(), end: asm.here(), kind: 'macro' });
  asm.inputs.push(new ListSource('macro', out, asm.conds.length, entry.def.displayName));
}


/** The values of `.irp`/`.irpc` (expand_irp). An empty list expands once with an empty value. */
function irpValues(args: string, i: number, irpc: boolean): string[] {
  if (i >= args.length) return [''];
  const out: string[] = [];
  if (!irpc) {
    while (i < args.length) {
      const v = getAnyString(args, i);
      out.push(v.text);
      i = skipComma(args, v.end);
    }
    return out;
  }
  let inQuotes = false;
  if (args[i] === '"') {
    inQuotes = true;
    i++;
  }
  while (i < args.length) {
    if (args[i] === '"') {
      inQuotes = !inQuotes;
      const nxt = skipWhite(args, i + 1);
      if (nxt >= args.length) break;
    }
    out.push(args[i]!);
    i++;
    if (!inQuotes) i = skipWhite(args, i);
  }
  return out;
}
