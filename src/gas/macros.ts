/**
 * GNU as macros (gas/macro.c, binutils 2.40, default syntax: neither
 * `.altmacro` nor MRI): parameter lists, argument splitting and body
 * substitution. The functions keep macro.c's names so they can be compared
 * with it; every rule here is covered by a test checked against GNU as.
 *
 * - Parameters: `name`, `name=default`, `name:req`, `name:vararg`, separated
 *   by blanks or commas.
 * - Arguments: positional, then keyword `name=value` (positional after
 *   keyword is an error); split at blanks and commas outside (), [] and
 *   quotes; a leading `"…"` argument loses its quotes; an empty argument
 *   takes the default.
 * - Body: `\name` and `&name` are replaced (an optional trailing `'` resp.
 *   `&` is swallowed), `\()` is replaced by nothing (it separates a
 *   parameter from following text), `\(text)` by `text`, `\@` by the count
 *   of macro expansions before this one. Anything else after `\` is kept.
 */
import { isNamePart, isNameStart } from './expr.js';
import type { ErrorCode } from '../error-codes.js';

export interface Formal {
  name: string;
  def: string;
  type: 'normal' | 'required' | 'vararg';
}

export interface MacroDef {
  /** Lower-case name (GNU as looks macros up case-insensitively). */
  name: string;
  /** Name as written. */
  displayName: string;
  formals: Formal[];
}

const isWhite = (c: string | undefined): boolean => c === ' ' || c === '\t';
/** macro.c ISSEP (non-alternate syntax). */
const isSep = (c: string | undefined): boolean =>
  c === ' ' || c === '\t' || c === ',' || c === '"' || c === ';' || c === ')' || c === '(';

export function skipWhite(s: string, i: number): number {
  while (i < s.length && isWhite(s[i])) i++;
  return i;
}

/** sb_skip_comma: blanks, at most one comma, blanks. */
export function skipComma(s: string, i: number): number {
  i = skipWhite(s, i);
  if (s[i] === ',') i++;
  return skipWhite(s, i);
}

/** get_token: a symbol name at `i`, or empty. */
export function getToken(s: string, i: number): { token: string; end: number } {
  let j = i;
  if (isNameStart(s[j])) {
    j++;
    while (isNamePart(s[j])) j++;
  }
  return { token: s.slice(i, j), end: j };
}

/** getstring: one or more adjacent "…" strings, quotes removed, `""` → `"`. */
function getString(s: string, i: number): { text: string; end: number } {
  let out = '';
  while (i < s.length && s[i] === '"') {
    i++;
    let escaped = false;
    while (i < s.length) {
      escaped = s[i - 1] === '\\' ? !escaped : false;
      if (escaped && s[i] === '"') {
        out += '"';
        i++;
      } else {
        if (s[i] === '"') {
          i++;
          if (i >= s.length || s[i] !== '"') break;
        }
        out += s[i];
        i++;
      }
    }
  }
  return { text: out, end: i };
}

/** get_any_string: one macro argument starting at `i`. */
export function getAnyString(s: string, i: number): { text: string; end: number } {
  i = skipWhite(s, i);
  if (i >= s.length) return { text: '', end: i };
  // `b'101`-style based numbers (macro.c keeps them whole).
  if (s.length > i + 2 && s[i + 1] === "'" && /[bBqQhHdD]/.test(s[i]!)) {
    let j = i;
    while (j < s.length && !isSep(s[j])) j++;
    return { text: s.slice(i, j), end: j };
  }
  if (s[i] === '"') return getString(s, i);
  let out = '';
  const brackets: string[] = [];
  while (i < s.length && (brackets.length > 0 || !isWhite(s[i])) && s[i] !== ',') {
    const c = s[i]!;
    if (c === '"' || c === "'") {
      out += s[i++];
      while (i < s.length && s[i] !== c) out += s[i++];
      if (i >= s.length) return { text: out, end: i };
      out += s[i++];
      continue;
    }
    if (c === '(' || c === '[') brackets.push(c);
    else if (c === ')' && brackets[brackets.length - 1] === '(') brackets.pop();
    else if (c === ']' && brackets[brackets.length - 1] === '[') brackets.pop();
    out += c;
    i++;
  }
  return { text: out, end: i };
}

/** A problem with a macro definition or invocation; the caller positions it. */
export class MacroError extends Error {
  constructor(message: string, readonly code: ErrorCode, readonly warning = false) {
    super(message);
  }
}

/**
 * Parses the operands of `.macro` (define_macro + do_formals). Returns the
 * definition and warnings (GNU as warns, e.g., on a default for a `:req`).
 */
export function parseMacroHeader(rest: string): { def: MacroDef; warnings: string[] } {
  const warnings: string[] = [];
  let i = skipWhite(rest, 0);
  const name = getToken(rest, i);
  if (name.token === '') throw new MacroError('missing macro name', 'GAS_MACRO_SYNTAX');
  i = name.end;
  const formals: Formal[] = [];
  const cidx = skipWhite(rest, i);
  i = skipComma(rest, cidx);
  if (i === cidx || i < rest.length) {
    // do_formals
    i = skipWhite(rest, i);
    while (i < rest.length) {
      const tok = getToken(rest, i);
      if (tok.token === '') break;
      i = skipWhite(rest, tok.end);
      const formal: Formal = { name: tok.token, def: '', type: 'normal' };
      if (rest[i] === ':') {
        const q = getToken(rest, skipWhite(rest, i + 1));
        if (q.token === '') throw new MacroError(`missing parameter qualifier for \`${formal.name}' in macro \`${name.token}'`, 'GAS_MACRO_SYNTAX');
        if (q.token === 'req') formal.type = 'required';
        else if (q.token === 'vararg') formal.type = 'vararg';
        else throw new MacroError(`\`${q.token}' is not a valid parameter qualifier for \`${formal.name}' in macro \`${name.token}'`, 'GAS_MACRO_SYNTAX');
        i = skipWhite(rest, q.end);
      }
      if (rest[i] === '=') {
        const d = getAnyString(rest, i + 1);
        formal.def = d.text;
        i = skipWhite(rest, d.end);
        if (formal.type === 'required') {
          formal.def = '';
          warnings.push(`pointless default value for required parameter \`${formal.name}' in macro \`${name.token}'`);
        }
      }
      if (formals.some((f) => f.name === formal.name)) {
        throw new MacroError(`a parameter named \`${formal.name}' already exists for macro \`${name.token}'`, 'GAS_MACRO_SYNTAX');
      }
      formals.push(formal);
      if (formal.type === 'vararg') break;
      const before = i;
      i = skipComma(rest, i);
      if (i !== before && i >= rest.length) {
        i = before;
        break;
      }
    }
  } else {
    i = cidx;
  }
  if (i < rest.length) throw new MacroError(`bad parameter list for macro \`${name.token}'`, 'GAS_MACRO_SYNTAX');
  return { def: { name: name.token.toLowerCase(), displayName: name.token, formals }, warnings };
}

/**
 * Splits an invocation's operand text into actual values (macro_expand).
 * Returns the value for each formal (default applied) and warnings.
 */
export function bindMacroArgs(def: MacroDef, args: string): { values: Map<string, string>; warnings: string[] } {
  const warnings: string[] = [];
  const actual = new Map<string, string>();
  let positional = 0;
  let isKeyword = false;
  let i = skipWhite(args, 0);
  while (i < args.length) {
    let scan = i;
    while (scan < args.length && !isSep(args[scan]) && args[scan] !== '=') scan++;
    if (scan < args.length && args[scan] === '=') {
      isKeyword = true;
      const tok = getToken(args, i);
      if (args[tok.end] !== '=') throw new MacroError('confusion in formal parameters', 'GAS_MACRO_ARGS');
      const formal = def.formals.find((f) => f.name === tok.token);
      const v = getAnyString(args, tok.end + 1);
      if (!formal) {
        throw new MacroError(`parameter named \`${tok.token}' does not exist for macro \`${def.displayName}'`, 'GAS_MACRO_ARGS');
      }
      if ((actual.get(formal.name) ?? '') !== '') {
        warnings.push(`value for parameter \`${formal.name}' of macro \`${def.displayName}' was already specified`);
      }
      actual.set(formal.name, v.text);
      i = v.end;
    } else {
      if (isKeyword) throw new MacroError('can\'t mix positional and keyword arguments', 'GAS_MACRO_ARGS');
      const formal = def.formals[positional];
      if (!formal) throw new MacroError(`too many positional arguments for macro \`${def.displayName}'`, 'GAS_MACRO_ARGS');
      if (formal.type === 'vararg') {
        actual.set(formal.name, args.slice(i));
        i = args.length;
      } else {
        const v = getAnyString(args, i);
        actual.set(formal.name, v.text);
        i = v.end;
      }
      positional++;
    }
    i = skipComma(args, i);
  }
  const values = new Map<string, string>();
  for (const f of def.formals) {
    const a = actual.get(f.name) ?? '';
    if (f.type === 'required' && a === '') {
      throw new MacroError(`missing value for required parameter \`${f.name}' of macro \`${def.displayName}'`, 'GAS_MACRO_ARGS');
    }
    values.set(f.name, a !== '' ? a : f.def);
  }
  return { values, warnings };
}

/**
 * macro_expand_body: substitutes parameters in one body text. `counter` is
 * the value of `\@` (GNU as's macro_number when the expansion started).
 */
export function substituteBody(body: string, values: ReadonlyMap<string, string>, counter: number): string {
  let out = '';
  let src = 0;
  const n = body.length;
  // sub_actual: a name after `\` or `&`, with an optional trailing `kind` swallowed.
  const subActual = (start: number, kind: '&' | "'"): number => {
    const tok = getToken(body, start);
    let s = tok.end;
    if (s < n && body[s] === kind) s++;
    const v = values.get(tok.token);
    if (v !== undefined) out += v;
    else if (kind === '&') {
      out += '&' + tok.token;
      if (s !== start && body[s - 1] === '&') out += '&';
    } else {
      out += '\\' + tok.token;
    }
    return s;
  };
  while (src < n) {
    const c = body[src]!;
    if (c === '&') {
      src = subActual(src + 1, '&');
    } else if (c === '\\') {
      src++;
      if (body[src] === '(') {
        src++;
        while (src < n && body[src] !== ')') out += body[src++];
        if (src < n) src++;
        else throw new MacroError("missing `)' after `\\('", 'GAS_MACRO_SYNTAX');
      } else if (body[src] === '@') {
        src++;
        out += String(counter);
      } else if (body[src] === '&') {
        out += '\\&';
        src++;
      } else {
        src = subActual(src, "'");
      }
    } else {
      out += c;
      src++;
    }
  }
  return out;
}

/** Directive names that open and close nested blocks, for buffer_and_nest. */
export type BlockKind = 'macro' | 'rept';

/**
 * buffer_and_nest's test for one statement: does it open (+1) or close (-1)
 * a block of this kind? Leading labels (`foo: .endm`) are skipped like GNU
 * as does.
 */
export function blockDelta(stmt: string, kind: BlockKind): { delta: -1 | 0 | 1; labelPrefix: string } {
  let i = skipWhite(stmt, 0);
  let lineStart = 0;
  for (;;) {
    if (!isNameStart(stmt[i])) break;
    let j = i + 1;
    while (isNamePart(stmt[j])) j++;
    j = skipWhite(stmt, j);
    if (stmt[j] !== ':') {
      i = skipWhite(stmt, lineStart);
      break;
    }
    i = skipWhite(stmt, j + 1);
    lineStart = j + 1;
  }
  const labelPrefix = stmt.slice(0, lineStart);
  if (stmt[i] !== '.') return { delta: 0, labelPrefix };
  const word = /^\.([A-Za-z]+)(?![A-Za-z0-9_.$])/.exec(stmt.slice(i));
  if (!word) return { delta: 0, labelPrefix };
  const w = word[1]!.toLowerCase();
  if (kind === 'macro') {
    if (w === 'macro') return { delta: 1, labelPrefix };
    if (w === 'endm') return { delta: -1, labelPrefix };
  } else {
    if (w === 'rept' || w === 'rep' || w === 'irp' || w === 'irpc' || w === 'irep' || w === 'irepc') return { delta: 1, labelPrefix };
    if (w === 'endr') return { delta: -1, labelPrefix };
  }
  return { delta: 0, labelPrefix };
}
