/**
 * Just enough C to read the declarations seamlab needs from kernel headers
 * without preprocessing them: function prototypes and struct definitions.
 *
 * Headers are read as raw text. Comments and preprocessor directive lines
 * are blanked out (same length, newlines kept, so offsets still map to
 * lines). Types are the x86-64 LP64 integer types, the kernel's fixed-width
 * typedefs, `void`, and `struct`/`union` tags. Anything else is reported,
 * never guessed.
 */

export type BaseType =
  | { kind: 'int'; name: string; size: 1 | 2 | 4 | 8; signed: boolean }
  | { kind: 'void' }
  | { kind: 'struct'; tag: string; union: boolean }
  /** An identifier used as a type that is not in seamlab's table (a typedef seamlab does not know). */
  | { kind: 'typedef'; name: string };

export interface DeclType {
  base: BaseType;
  /** Number of `*` in the declarator. */
  pointers: number;
  /** The type as written, whitespace collapsed ("struct tdx_module_args *"). */
  spelled: string;
}

export interface Token {
  kind: 'id' | 'num' | 'punct';
  text: string;
  /** Offset in the text. */
  pos: number;
}

/** Fixed-size typedefs of the kernel and of C99 <stdint.h>, with their LP64 sizes. */
const TYPEDEFS: Record<string, { size: 1 | 2 | 4 | 8; signed: boolean }> = {
  u8: { size: 1, signed: false }, u16: { size: 2, signed: false }, u32: { size: 4, signed: false }, u64: { size: 8, signed: false },
  s8: { size: 1, signed: true }, s16: { size: 2, signed: true }, s32: { size: 4, signed: true }, s64: { size: 8, signed: true },
  __u8: { size: 1, signed: false }, __u16: { size: 2, signed: false }, __u32: { size: 4, signed: false }, __u64: { size: 8, signed: false },
  __s8: { size: 1, signed: true }, __s16: { size: 2, signed: true }, __s32: { size: 4, signed: true }, __s64: { size: 8, signed: true },
  __le16: { size: 2, signed: false }, __le32: { size: 4, signed: false }, __le64: { size: 8, signed: false },
  __be16: { size: 2, signed: false }, __be32: { size: 4, signed: false }, __be64: { size: 8, signed: false },
  uint8_t: { size: 1, signed: false }, uint16_t: { size: 2, signed: false }, uint32_t: { size: 4, signed: false }, uint64_t: { size: 8, signed: false },
  int8_t: { size: 1, signed: true }, int16_t: { size: 2, signed: true }, int32_t: { size: 4, signed: true }, int64_t: { size: 8, signed: true },
  size_t: { size: 8, signed: false }, ssize_t: { size: 8, signed: true }, uintptr_t: { size: 8, signed: false }, intptr_t: { size: 8, signed: true },
  bool: { size: 1, signed: false }, _Bool: { size: 1, signed: false },
};

const INT_WORDS = new Set(['char', 'short', 'int', 'long', 'signed', 'unsigned']);
const QUALIFIERS = new Set(['const', 'volatile', 'restrict', '__restrict', '__user', '__iomem', '__force', '__rcu', '__percpu']);
/** Words that may surround a prototype and do not change the calling convention on x86-64 (static/inline mark definitions, which are skipped). */
export const PROTOTYPE_ATTRIBUTES = new Set(['extern', 'static', 'inline', '__inline', '__inline__', '__always_inline', 'asmlinkage', 'noinstr', '__must_check', 'notrace', '__visible', '__init', '__cold', '__noreturn', 'noinline', '__noclone', '__nocfi', '__always_used']);

// ---- text views -------------------------------------------------------------

/** Views of recently read headers (the same few headers are searched for every entry point). */
const views = new Map<string, string>();
const MAX_VIEWS = 256;

/**
 * The text with comments and preprocessor directives (with their `\`
 * continuations) replaced by spaces; newlines and string literals kept.
 */
export function codeView(text: string): string {
  const cached = views.get(text);
  if (cached !== undefined) return cached;
  const out = text.split('');
  let i = 0;
  let lineStart = true;
  const n = text.length;
  const blank = (a: number, b: number) => {
    for (let k = a; k < b; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  while (i < n) {
    const c = text[i]!;
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      blank(i, stop);
      i = stop;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      let stop = text.indexOf('\n', i);
      if (stop < 0) stop = n;
      blank(i, stop);
      i = stop;
      continue;
    }
    if (lineStart && c === '#') {
      // A directive runs to the end of the line, plus continuation lines.
      let stop = i;
      for (;;) {
        let eol = text.indexOf('\n', stop);
        if (eol < 0) eol = n;
        // Comments inside the directive are blanked too.
        const seg = text.slice(stop, eol);
        const cstart = seg.indexOf('/*');
        if (cstart >= 0) {
          const cend = text.indexOf('*/', stop + cstart + 2);
          if (cend >= 0 && cend > eol) {
            stop = cend + 2;
            continue;
          }
        }
        if (eol < n && text[eol - 1] === '\\') {
          stop = eol + 1;
          continue;
        }
        stop = eol;
        break;
      }
      blank(i, stop);
      i = stop;
      continue;
    }
    if (c === '"' || c === "'") {
      let k = i + 1;
      while (k < n && text[k] !== c && text[k] !== '\n') k += text[k] === '\\' ? 2 : 1;
      i = k + 1;
      lineStart = false;
      continue;
    }
    if (c === '\n') lineStart = true;
    else if (c !== ' ' && c !== '\t' && c !== '\r' && c !== '\f') lineStart = false;
    i++;
  }
  const view = out.join('');
  if (views.size >= MAX_VIEWS) views.delete(views.keys().next().value!);
  views.set(text, view);
  return view;
}

/** 1-based line of an offset. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** Tokens of text[from, to). */
export function tokenize(text: string, from = 0, to = text.length): Token[] {
  const toks: Token[] = [];
  const re = /([A-Za-z_][A-Za-z0-9_]*)|(0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*)|(\.\.\.|->|<<|>>|[^\sA-Za-z0-9_])/g;
  re.lastIndex = from;
  for (let m = re.exec(text); m && m.index < to; m = re.exec(text)) {
    toks.push({ kind: m[1] ? 'id' : m[2] ? 'num' : 'punct', text: m[0], pos: m.index });
  }
  return toks;
}

/** Value of an integer literal token (with U/L suffixes), or undefined. */
export function intLiteral(text: string): number | undefined {
  const t = text.replace(/[uUlL]+$/, '');
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) return parseInt(t, 16);
  if (/^0[0-7]*$/.test(t)) return parseInt(t, 8);
  if (/^[1-9]\d*$/.test(t)) return Number(t);
  return undefined;
}

// ---- types -----------------------------------------------------------------

/** The LP64 type for a combination of C integer keywords, or undefined for an invalid combination. */
function intFromWords(words: string[]): BaseType | undefined {
  const count = (w: string) => words.filter((x) => x === w).length;
  const unsigned = count('unsigned') > 0;
  if (unsigned && count('signed') > 0) return undefined;
  const longs = count('long');
  const name = words.join(' ');
  if (count('char')) return longs || count('short') || count('int') ? undefined : { kind: 'int', name, size: 1, signed: !unsigned };
  if (count('short')) return longs ? undefined : { kind: 'int', name, size: 2, signed: !unsigned };
  if (longs > 2) return undefined;
  if (longs >= 1) return { kind: 'int', name, size: 8, signed: !unsigned };
  return { kind: 'int', name, size: 4, signed: !unsigned };
}

export interface SpecifierParse {
  base: BaseType;
  /** Index of the first token after the specifiers. */
  next: number;
  /** Words skipped as qualifiers/attributes. */
  skipped: string[];
}

/**
 * Parses declaration specifiers starting at toks[i]: qualifiers, integer
 * keywords, known typedefs, `struct`/`union` tags, `void`. `extraSkip` are
 * attribute-like words the caller tolerates. Stops at the first token that
 * cannot belong to the specifiers. Returns a reason string on failure.
 */
export function parseSpecifiers(toks: Token[], i: number, extraSkip: ReadonlySet<string> = new Set()): SpecifierParse | string {
  const words: string[] = [];
  let base: BaseType | undefined;
  const skipped: string[] = [];
  for (; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.kind !== 'id') break;
    if (QUALIFIERS.has(t.text) || extraSkip.has(t.text)) {
      skipped.push(t.text);
      continue;
    }
    if (t.text === '__attribute__') {
      const end = skipParens(toks, i + 1);
      if (end < 0) return 'unbalanced __attribute__';
      skipped.push('__attribute__');
      i = end - 1;
      continue;
    }
    if (INT_WORDS.has(t.text)) {
      if (base) return `"${t.text}" after a complete type`;
      words.push(t.text);
      continue;
    }
    if (words.length > 0 || base) break; // the declarator's name
    if (t.text === 'void') {
      base = { kind: 'void' };
      continue;
    }
    if (t.text === 'struct' || t.text === 'union') {
      const tag = toks[i + 1];
      if (!tag || tag.kind !== 'id') return `${t.text} without a tag`;
      base = { kind: 'struct', tag: tag.text, union: t.text === 'union' };
      i++;
      continue;
    }
    if (t.text === 'enum') return 'enum types are not supported';
    const td = TYPEDEFS[t.text];
    base = td ? { kind: 'int', name: t.text, ...td } : { kind: 'typedef', name: t.text };
  }
  if (words.length > 0) {
    const b = intFromWords(words);
    if (!b) return `invalid type "${words.join(' ')}"`;
    base = b;
  }
  if (!base) return 'no type';
  return { base, next: i, skipped };
}

/** Index just past the parenthesised group starting at toks[i] (which must be "("), or -1. */
export function skipParens(toks: Token[], i: number): number {
  if (toks[i]?.text !== '(') return -1;
  let depth = 0;
  for (let k = i; k < toks.length; k++) {
    if (toks[k]!.text === '(') depth++;
    else if (toks[k]!.text === ')' && --depth === 0) return k + 1;
  }
  return -1;
}

export function spellType(base: BaseType, pointers: number): string {
  const b = base.kind === 'int' ? base.name : base.kind === 'void' ? 'void' : base.kind === 'struct' ? `${base.union ? 'union' : 'struct'} ${base.tag}` : base.name;
  return pointers ? `${b} ${'*'.repeat(pointers)}` : b;
}

// ---- prototypes ---------------------------------------------------------------

export interface ParsedParam {
  /** Parameter name, when the prototype gives one. */
  name?: string;
  type: DeclType;
}

export interface ParsedPrototype {
  name: string;
  returns: DeclType;
  params: ParsedParam[];
  /** Offsets of the declaration in the text: first specifier … just after ';'. */
  start: number;
  end: number;
  /** 1-based line of the declaration's first token. */
  line: number;
  /** The declaration as one line, whitespace collapsed. */
  text: string;
}

export type PrototypeParse =
  | { ok: true; proto: ParsedPrototype }
  | { ok: false; reason: string; /** True when the text is a function definition (has a body), not a prototype. */ definition?: boolean };

/**
 * Parses the function declaration whose name starts at `pos` in `text` (raw
 * header text). Succeeds for `… name(params);`; reports why otherwise (a use
 * of the name in an expression, a definition with a body, an unsupported
 * parameter).
 */
export function parsePrototype(text: string, pos: number): PrototypeParse {
  const view = codeView(text);
  const nameTok = /^[A-Za-z_][A-Za-z0-9_]*/.exec(view.slice(pos, pos + 256));
  if (!nameTok) return { ok: false, reason: 'no identifier at this position' };
  const name = nameTok[0];
  // The declaration starts after the previous ';', '{', '}' (or at the start).
  let start = pos;
  while (start > 0 && !';{}'.includes(view[start - 1]!)) start--;
  const before = tokenize(view, start, pos);
  if (before.length === 0) return { ok: false, reason: 'no return type before the name' };
  const spec = parseSpecifiers(before, 0, PROTOTYPE_ATTRIBUTES);
  if (typeof spec === 'string') return { ok: false, reason: spec };
  let k = spec.next;
  let retPtr = 0;
  for (; k < before.length && before[k]!.text === '*'; k++) retPtr++;
  while (k < before.length && QUALIFIERS.has(before[k]!.text)) k++;
  if (k !== before.length) return { ok: false, reason: `unexpected "${before[k]!.text}" before the name` };

  const after = tokenize(view, pos + name.length);
  if (after[0]?.text !== '(') return { ok: false, reason: 'the name is not followed by "("' };
  const close = skipParens(after, 0);
  if (close < 0) return { ok: false, reason: 'unbalanced parentheses' };
  // Attributes after the parameter list, then ';'.
  let j = close;
  while (j < after.length && after[j]!.kind === 'id' && (PROTOTYPE_ATTRIBUTES.has(after[j]!.text) || after[j]!.text === '__attribute__')) {
    j = after[j]!.text === '__attribute__' ? skipParens(after, j + 1) : j + 1;
    if (j < 0) return { ok: false, reason: 'unbalanced __attribute__' };
  }
  const term = after[j];
  if (term?.text === '{') return { ok: false, reason: 'a definition with a body, not a prototype', definition: true };
  if (term?.text !== ';') return { ok: false, reason: `"${term?.text ?? 'end of file'}" after the parameter list` };

  // Parameters: split at top-level commas.
  const inner = after.slice(1, close - 1);
  const params: ParsedParam[] = [];
  const groups: Token[][] = [[]];
  let depth = 0;
  for (const t of inner) {
    if (t.text === '(' || t.text === '[') depth++;
    if (t.text === ')' || t.text === ']') depth--;
    if (t.text === ',' && depth === 0) groups.push([]);
    else groups[groups.length - 1]!.push(t);
  }
  const isVoidList = groups.length === 1 && groups[0]!.length === 1 && groups[0]![0]!.text === 'void';
  if (!isVoidList && !(groups.length === 1 && groups[0]!.length === 0)) {
    for (const g of groups) {
      if (g.length === 1 && g[0]!.text === '...') return { ok: false, reason: 'variadic parameter list' };
      const ps = parseSpecifiers(g, 0);
      if (typeof ps === 'string') return { ok: false, reason: `parameter "${g.map((t) => t.text).join(' ')}": ${ps}` };
      let q = ps.next;
      let ptr = 0;
      for (; q < g.length && (g[q]!.text === '*' || QUALIFIERS.has(g[q]!.text)); q++) if (g[q]!.text === '*') ptr++;
      let pname: string | undefined;
      if (q < g.length && g[q]!.kind === 'id') pname = g[q++]!.text;
      if (q < g.length && g[q]!.text === '[') {
        // An array parameter is a pointer.
        ptr++;
        while (q < g.length && g[q]!.text !== ']') q++;
        q++;
      }
      if (q !== g.length) return { ok: false, reason: `parameter "${g.map((t) => t.text).join(' ')}" is not a plain declaration (function pointer?)` };
      params.push({ name: pname, type: { base: ps.base, pointers: ptr, spelled: spellType(ps.base, ptr) } });
    }
  }
  const end = term.pos + 1;
  const declStart = before[0]!.pos;
  return {
    ok: true,
    proto: {
      name,
      returns: { base: spec.base, pointers: retPtr, spelled: spellType(spec.base, retPtr) },
      params,
      start: declStart,
      end,
      line: lineAt(text, declStart),
      text: view.slice(declStart, end).replace(/\s+/g, ' ').replace(/\( /g, '(').replace(/ \)/g, ')'),
    },
  };
}
