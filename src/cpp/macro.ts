/**
 * Macro definitions: parsing a `#define` line into a replacement list the
 * way GNU cpp stores it (parameters turned into `param` tokens, `#param`
 * folded into a STRINGIFY_ARG flag, `a ## b` folded into a PASTE_LEFT flag
 * on `a`, the first token's leading whitespace dropped).
 *
 * In assembler mode a `#` in a function-like macro that is not followed by
 * a parameter is kept as an ordinary token (gcc: "let assembler get away
 * with murder"); in C it is an error.
 */
import type { SourcePos } from '../support/source-location.js';
import type { LexMode } from './lexer.js';
import { PASTE_LEFT, PREV_WHITE, SP_PREV_WHITE, STRINGIFY_ARG, type Token } from './token.js';

export interface Macro {
  name: string;
  funLike: boolean;
  params: string[];
  variadic: boolean;
  /** Replacement list (params as `param` tokens). */
  body: Token[];
  definedAt: SourcePos;
  /** Builtins (__LINE__, __FILE__, …) have no body. */
  builtin?: BuiltinKind;
  /** Set while the macro's expansion is being rescanned (the "disabled" state of C11 6.10.3.4p2). */
  disabled: boolean;
}

export type BuiltinKind = 'LINE' | 'FILE' | 'BASE_FILE' | 'FILE_NAME' | 'INCLUDE_LEVEL' | 'COUNTER' | 'DATE' | 'TIME' | 'TIMESTAMP' | 'PRAGMA' | 'HAS_INCLUDE' | 'HAS_INCLUDE_NEXT';

export class MacroDefinitionError extends Error {
  constructor(
    message: string,
    readonly token?: Token,
  ) {
    super(message);
  }
}

/**
 * Parses the tokens of a #define line after the macro name. `first` tells
 * whether the name was directly followed by `(` (no whitespace): then it is
 * a function-like macro.
 */
export function parseDefinition(name: string, rest: Token[], definedAt: SourcePos, mode: LexMode): Macro {
  let i = 0;
  const params: string[] = [];
  let variadic = false;
  let funLike = false;
  const first = rest[0];
  if (first && first.kind === 'punct' && first.text === '(' && !(first.flags & PREV_WHITE)) {
    funLike = true;
    i = 1;
    let prevIdent = false;
    for (;;) {
      const t = rest[i++];
      if (!t) throw new MacroDefinitionError(prevIdent ? "expected ')' before end of line" : 'expected parameter name before end of line');
      if (t.kind === 'name') {
        if (prevIdent || variadic) throw new MacroDefinitionError(`expected ',' or ')', found "${t.text}"`, t);
        if (params.includes(t.text)) throw new MacroDefinitionError(`duplicate macro parameter "${t.text}"`, t);
        if (t.text === '__VA_ARGS__') throw new MacroDefinitionError('__VA_ARGS__ can not be used as a parameter name', t);
        params.push(t.text);
        prevIdent = true;
        continue;
      }
      if (t.kind === 'punct' && t.text === ')') {
        if (prevIdent || params.length === 0 || variadic) break;
        throw new MacroDefinitionError('expected parameter name, found ")"', t);
      }
      if (t.kind === 'punct' && t.text === ',') {
        if (!prevIdent || variadic) throw new MacroDefinitionError(`expected parameter name, found ","`, t);
        prevIdent = false;
        continue;
      }
      if (t.kind === 'punct' && t.text === '...') {
        if (variadic) throw new MacroDefinitionError(`expected ')' after "..."`, t);
        variadic = true;
        if (!prevIdent) params.push('__VA_ARGS__');
        continue;
      }
      throw new MacroDefinitionError(variadic ? `expected ')' after "..."` : prevIdent ? `expected ',' or ')', found "${t.text}"` : `expected parameter name, found "${t.text}"`, t);
    }
  }

  const body: Token[] = [];
  let followingPaste = false;
  for (; i < rest.length; i++) {
    let t = rest[i]!;
    if (t.kind === 'name') {
      const idx = params.indexOf(t.text);
      if (idx >= 0) t = { ...t, kind: 'param', argNo: idx + 1 };
      else if (t.text === '__VA_ARGS__' && !variadic) {
        throw new MacroDefinitionError('__VA_ARGS__ can only appear in the expansion of a C99 variadic macro', t);
      }
    }
    // `#` then a parameter (or __VA_OPT__) in a function-like macro: stringify.
    const prev = body[body.length - 1];
    if (funLike && prev && prev.kind === 'punct' && prev.text === '#' && !(prev.flags & STRINGIFY_ARG)) {
      if (t.kind === 'param' || (variadic && t.kind === 'name' && t.text === '__VA_OPT__')) {
        let flags = t.flags;
        if (flags & PREV_WHITE) flags |= SP_PREV_WHITE;
        flags = (flags & ~PREV_WHITE) | STRINGIFY_ARG | (prev.flags & PREV_WHITE);
        body[body.length - 1] = { ...t, flags };
        followingPaste = false;
        continue;
      }
      if (mode !== 'asm') throw new MacroDefinitionError("'#' is not followed by a macro parameter", prev);
    }
    if (t.kind === 'punct' && t.text === '##') {
      if (body.length === 0) throw new MacroDefinitionError("'##' cannot appear at either end of a macro expansion", t);
      if (!followingPaste) {
        const last = body[body.length - 1]!;
        body[body.length - 1] = { ...last, flags: last.flags | PASTE_LEFT | (t.flags & PREV_WHITE ? SP_PREV_WHITE : 0) };
      }
      // Consecutive ## operators after the first are dropped (gcc moves them past the end).
      followingPaste = true;
      continue;
    }
    followingPaste = false;
    body.push(t);
  }
  if (followingPaste) throw new MacroDefinitionError("'##' cannot appear at either end of a macro expansion", rest[rest.length - 1]);
  if (funLike && hasTrailingStringifyHash(body, mode)) {
    throw new MacroDefinitionError("'#' is not followed by a macro parameter", body[body.length - 1]);
  }
  if (body.length > 0) body[0] = { ...body[0]!, flags: body[0]!.flags & ~PREV_WHITE };
  checkVaOpt(body, variadic);
  return { name, funLike, params, variadic, body, definedAt, disabled: false };
}

/** In C a function-like macro may not end with a lone `#`. */
function hasTrailingStringifyHash(body: Token[], mode: LexMode): boolean {
  if (mode === 'asm' || body.length === 0) return false;
  const last = body[body.length - 1]!;
  return last.kind === 'punct' && last.text === '#';
}

/** __VA_OPT__ must be followed by a parenthesised group and not nest. */
function checkVaOpt(body: Token[], variadic: boolean): void {
  if (!variadic) return;
  for (let i = 0; i < body.length; i++) {
    const t = body[i]!;
    if (t.kind !== 'name' || t.text !== '__VA_OPT__') continue;
    const open = body[i + 1];
    if (!open || open.kind !== 'punct' || open.text !== '(') throw new MacroDefinitionError('__VA_OPT__ must be followed by an open parenthesis', t);
    let depth = 0;
    let j = i + 1;
    for (; j < body.length; j++) {
      const u = body[j]!;
      if (u.kind === 'name' && u.text === '__VA_OPT__' && j > i) throw new MacroDefinitionError('__VA_OPT__ may not appear in a __VA_OPT__', u);
      if (u.kind === 'punct' && u.text === '(') depth++;
      else if (u.kind === 'punct' && u.text === ')' && --depth === 0) break;
    }
    if (j >= body.length) throw new MacroDefinitionError('unterminated __VA_OPT__', t);
  }
}

/** Whether two definitions are the same (a redefinition that is not is warned about). */
export function sameDefinition(a: Macro, b: Macro): boolean {
  if (a.funLike !== b.funLike || a.variadic !== b.variadic || a.params.join(',') !== b.params.join(',') || a.body.length !== b.body.length) return false;
  for (let i = 0; i < a.body.length; i++) {
    const x = a.body[i]!;
    const y = b.body[i]!;
    const mask = PREV_WHITE | STRINGIFY_ARG | PASTE_LEFT;
    if (x.kind !== y.kind || x.text !== y.text || (x.flags & mask) !== (y.flags & mask)) return false;
  }
  return true;
}

/** `name(params) body` as gcc -dM would print it (for messages). */
export function macroSignature(m: Macro): string {
  if (!m.funLike) return m.name;
  const ps = m.params.map((p, i) => (m.variadic && i === m.params.length - 1 ? (p === '__VA_ARGS__' ? '...' : `${p}...`) : p));
  return `${m.name}(${ps.join(', ')})`;
}
