/**
 * C struct layout for x86-64 (System V, LP64), computed from a struct's
 * definition in the tree's headers: the structs TDX_MODULE_CALL reads and
 * writes (`struct tdx_module_output`, `struct tdx_module_args`), and the
 * `OFFSET()` values the kernel's asm-offsets.c turns into asm-offsets.h.
 *
 * Headers are read as raw text (no preprocessing): a struct body holding a
 * preprocessor conditional, a bit-field, an enum, an unknown type or an
 * attribute that could change the layout is an error naming file:line,
 * never a guess.
 *
 * Rules (System V AMD64 ABI §3.1.2): each scalar is aligned to its size;
 * a struct/union is aligned to its most aligned member and its size is
 * rounded up to that alignment; `__packed` drops member alignment to 1;
 * `__aligned(n)` raises alignment to n.
 */
import { SeamlabError } from '../errors.js';
import { locationAt, type SourcePos } from '../support/source-location.js';
import { codeView, intLiteral, lineAt, parseSpecifiers, skipParens, spellType, tokenize, type BaseType, type Token } from './c-decl.js';
import type { CType, StructField, StructLayout } from './types.js';
import type { ReadonlyFs } from '../support/vfs.js';

/** Attributes that do not change a layout (without CONFIG_RANDSTRUCT, which seamlab profiles never set). */
const NEUTRAL_ATTRIBUTES = new Set(['__no_randomize_layout', '__counted_by', '__counted_by_le', '__counted_by_be', '__nonstring', '__rcu', '__user', '__iomem', '__percpu', '__force']);

interface Definition {
  file: string;
  text: string;
  view: string;
  tag: string;
  union: boolean;
  /** Tokens of the body (between the braces). */
  body: Token[];
  /** Attributes written before the tag or after the closing brace. */
  attrs: Attrs;
  at: SourcePos;
}

interface Attrs {
  packed: boolean;
  aligned?: number;
}

/** A header list where directory entries stand for their *.h files (sorted). */
export function expandSearchPaths(files: ReadonlyFs, paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (files.isDirectory(p)) {
      for (const n of files.listDir(p) ?? []) if (n.endsWith('.h') && !files.isDirectory(`${p}/${n}`)) out.push(`${p}/${n}`);
    } else out.push(p);
  }
  return [...new Set(out)];
}

/**
 * Finds `struct <name> { … };` in the listed headers (in order; a directory
 * stands for its *.h files), and lays it out. Nested structs and unions are
 * found the same way (the defining header first).
 */
export function findStruct(files: ReadonlyFs, name: string, searchPaths: string[]): StructLayout {
  return layoutTag(files, name, false, expandSearchPaths(files, searchPaths), []);
}

/** Like findStruct, for `union <name>`. */
export function findUnion(files: ReadonlyFs, name: string, searchPaths: string[]): StructLayout {
  return layoutTag(files, name, true, expandSearchPaths(files, searchPaths), []);
}

/** Offset, size and type of a member path such as "rcx" or "regs.ax" (as asm-offsets.c's OFFSET() names it). */
export function memberOffset(layout: StructLayout, member: string): StructField {
  let cur: StructLayout = layout;
  let offset = 0;
  const parts = member.split('.');
  for (let i = 0; i < parts.length; i++) {
    const f = cur.fields.find((x) => x.name === parts[i]);
    if (!f) {
      throw new SeamlabError('C_NO_SUCH_MEMBER', `struct ${cur.name} has no member ${parts[i]}`, `members: ${cur.fields.map((x) => x.name).join(', ')}`, { where: locationAt(cur.definedAt) });
    }
    offset += f.offset;
    if (i === parts.length - 1) return { ...f, name: member, offset };
    if (f.type.kind !== 'struct') {
      throw new SeamlabError('C_NO_SUCH_MEMBER', `${parts.slice(0, i + 1).join('.')} in struct ${layout.name} is not a struct`, 'name a member of a nested struct with a.b', { where: locationAt(cur.definedAt) });
    }
    cur = f.type.layout;
  }
  throw new Error('unreachable');
}

function layoutTag(files: ReadonlyFs, tag: string, union: boolean, paths: string[], stack: string[]): StructLayout {
  const key = `${union ? 'union' : 'struct'} ${tag}`;
  if (stack.includes(key)) {
    throw new SeamlabError('C_LAYOUT_RECURSIVE', `${key} contains itself`, 'a struct can only contain a pointer to itself');
  }
  const def = findDefinition(files, tag, union, paths);
  return layoutBody(files, def, paths, [...stack, key]);
}

function findDefinition(files: ReadonlyFs, tag: string, union: boolean, paths: string[]): Definition {
  const kw = union ? 'union' : 'struct';
  const forward: string[] = [];
  for (const file of paths) {
    const text = files.readFile(file);
    if (text === undefined || !text.includes(tag)) continue;
    const view = codeView(text);
    const toks = tokenize(view);
    for (let i = 0; i < toks.length; i++) {
      if (toks[i]!.text !== kw) continue;
      let j = i + 1;
      const attrs: Attrs = { packed: false };
      j = readAttributes(toks, j, attrs, file, text);
      if (toks[j]?.text !== tag) continue;
      j = readAttributes(toks, j + 1, attrs, file, text);
      if (toks[j]?.text === ';') forward.push(`${file}:${lineAt(text, toks[i]!.pos)}`);
      if (toks[j]?.text !== '{') continue;
      const open = j;
      const close = matchingBrace(toks, open);
      const at = { file, line: lineAt(text, toks[i]!.pos) };
      if (close < 0) throw new SeamlabError('C_UNKNOWN_CONSTRUCT', `${kw} ${tag} has no closing brace`, 'check the header', { where: locationAt(at) });
      checkNoDirectives(text, view, toks[open]!.pos, toks[close]!.pos, file, `${kw} ${tag}`);
      readAttributes(toks, close + 1, attrs, file, text);
      return { file, text, view, tag, union, body: toks.slice(open + 1, close), attrs, at };
    }
  }
  throw new SeamlabError('C_STRUCT_NOT_FOUND', `${kw} ${tag} is not defined in the headers searched`, `define ${kw} ${tag} in a header seamlab searches, or check the name`, {
    notes: [...forward.map((f) => `only a forward declaration at ${f}`), `searched ${paths.length} header(s): ${summarizePaths(paths)}`],
  });
}

/** Short list of searched headers for messages: directories with counts. */
export function summarizePaths(paths: string[]): string {
  const byDir = new Map<string, number>();
  for (const p of paths) {
    const d = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '.';
    byDir.set(d, (byDir.get(d) ?? 0) + 1);
  }
  return [...byDir].map(([d, n]) => (n === 1 ? paths.find((p) => p.startsWith(d + '/'))! : `${d}/*.h (${n})`)).join(', ');
}

function checkNoDirectives(text: string, view: string, from: number, to: number, file: string, what: string): void {
  let lineStart = text.lastIndexOf('\n', from) + 1;
  while (lineStart < to) {
    let eol = text.indexOf('\n', lineStart);
    if (eol < 0) eol = text.length;
    const raw = text.slice(lineStart, eol);
    if (/^\s*#/.test(raw) && view.slice(lineStart, eol).trim() === '') {
      throw new SeamlabError('C_UNKNOWN_CONSTRUCT', `${what} contains a preprocessor directive (${raw.trim().split(/\s+/)[0]})`, 'seamlab reads struct definitions without preprocessing; a layout that depends on the configuration is not supported', {
        where: { ...locationAt({ file, line: lineAt(text, lineStart) }), text: raw },
      });
    }
    lineStart = eol + 1;
  }
}

function unknown(def: { file: string; text: string }, tok: Token | undefined, what: string): never {
  const line = tok ? lineAt(def.text, tok.pos) : 1;
  const raw = def.text.split('\n')[line - 1];
  throw new SeamlabError('C_UNKNOWN_CONSTRUCT', what, 'seamlab computes layouts only for plain members (integers, pointers, arrays, structs, unions, __packed/__aligned); simplify the definition or report it', {
    where: { ...locationAt({ file: def.file, line }), text: raw },
  });
}

/** Reads layout attributes at toks[i] (`__packed`, `__aligned(n)`, `__attribute__((packed|aligned(n)))`), returns the next index. */
function readAttributes(toks: Token[], i: number, attrs: Attrs, file: string, text: string): number {
  const def = { file, text };
  for (;;) {
    const t = toks[i];
    if (!t || t.kind !== 'id') return i;
    if (t.text === '__packed') {
      attrs.packed = true;
      i++;
    } else if (t.text === '__aligned') {
      const end = skipParens(toks, i + 1);
      const v = end === i + 4 ? intLiteral(toks[i + 2]!.text) : undefined;
      if (v === undefined) unknown(def, t, '__aligned() argument is not an integer literal');
      attrs.aligned = Math.max(attrs.aligned ?? 1, v);
      i = end;
    } else if (t.text === '__attribute__') {
      const end = skipParens(toks, i + 1);
      if (end < 0) unknown(def, t, 'unbalanced __attribute__');
      const inner = toks.slice(i + 3, end - 2);
      for (let k = 0; k < inner.length; k++) {
        const a = inner[k]!;
        if (a.text === ',') continue;
        const n = a.text.replace(/^__(.*)__$/, '$1');
        if (n === 'packed') attrs.packed = true;
        else if (n === 'aligned') {
          const v = inner[k + 1]?.text === '(' && inner[k + 3]?.text === ')' ? intLiteral(inner[k + 2]!.text) : undefined;
          if (v === undefined) unknown(def, a, 'aligned() argument is not an integer literal');
          attrs.aligned = Math.max(attrs.aligned ?? 1, v);
          k += 3;
        } else unknown(def, a, `attribute ${a.text} may change the layout`);
      }
      i = end;
    } else if (NEUTRAL_ATTRIBUTES.has(t.text)) {
      i = toks[i + 1]?.text === '(' ? skipParens(toks, i + 1) : i + 1;
    } else return i;
  }
}

interface Member {
  name?: string;
  type: CType;
  size: number;
  /** The type's own alignment. */
  natural: number;
  /** `__aligned(n)` written on the member. */
  explicitAlign?: number;
  /** `__packed` written on the member. */
  packed?: boolean;
  /** Anonymous struct/union member: its fields are the parent's. */
  anonymous?: StructLayout;
  tok: Token;
}

function layoutBody(files: ReadonlyFs, def: Definition, paths: string[], stack: string[]): StructLayout {
  const members: Member[] = [];
  const toks = def.body;
  // The defining header first when resolving nested tags.
  const nestedPaths = [def.file, ...paths.filter((p) => p !== def.file)];
  let i = 0;
  while (i < toks.length) {
    i = parseMember(files, def, toks, i, nestedPaths, stack, members);
  }
  return place(def.tag, def.union, members, def.attrs, def.at);
}

function place(tag: string, union: boolean, members: Member[], attrs: Attrs, at: SourcePos): StructLayout {
  let offset = 0;
  let size = 0;
  let align = 1;
  const fields: StructField[] = [];
  for (const m of members) {
    // A packed struct or member drops the type's alignment to 1; __aligned(n) on the member raises it again.
    const a = Math.max(attrs.packed || m.packed ? 1 : m.natural, m.explicitAlign ?? 1);
    const off = union ? 0 : roundUp(offset, a);
    if (m.anonymous) {
      for (const f of m.anonymous.fields) fields.push({ ...f, offset: off + f.offset });
    } else fields.push({ name: m.name!, offset: off, size: m.size, type: m.type });
    offset = off + m.size;
    size = Math.max(size, union ? m.size : offset);
    align = Math.max(align, a);
  }
  if (attrs.aligned) align = Math.max(align, attrs.aligned);
  size = roundUp(size, align);
  return { name: tag, size, align, fields, definedAt: at, ...(union ? { isUnion: true } : {}) };
}

function roundUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

function scalarType(def: Definition, base: BaseType, tok: Token): { type: CType; size: number; align: number } {
  if (base.kind === 'int') return { type: { kind: 'int', name: base.name, size: base.size, signed: base.signed }, size: base.size, align: base.size };
  if (base.kind === 'typedef') unknown(def, tok, `unknown type ${base.name} (a typedef seamlab does not know)`);
  unknown(def, tok, `type ${spellType(base, 0)} cannot be a member`);
}

function pointee(base: BaseType): CType {
  if (base.kind === 'int') return { kind: 'int', name: base.name, size: base.size, signed: base.signed };
  if (base.kind === 'void') return { kind: 'void' };
  if (base.kind === 'struct') return { kind: 'opaque-struct', name: base.tag };
  return { kind: 'void' };
}

/** Parses one member declaration starting at toks[i] (up to and including ';'); returns the next index. */
function parseMember(files: ReadonlyFs, def: Definition, toks: Token[], i: number, paths: string[], stack: string[], out: Member[]): number {
  const first = toks[i]!;
  const lead: Attrs = { packed: false };
  i = readAttributes(toks, i, lead, def.file, def.text);
  const t = toks[i];
  if (!t) unknown(def, first, 'member declaration without a type');
  if (t.text === ';') return i + 1;

  // Inline struct/union body: `struct { … } name;`, `union { … };`, `struct tag { … } name;`
  let base: BaseType | undefined;
  let inline: StructLayout | undefined;
  if ((t.text === 'struct' || t.text === 'union') && (toks[i + 1]?.text === '{' || toks[i + 2]?.text === '{')) {
    const isUnion = t.text === 'union';
    const tagged = toks[i + 1]?.text !== '{';
    const open = tagged ? i + 2 : i + 1;
    const close = matchingBrace(toks, open);
    if (close < 0) unknown(def, t, 'unbalanced braces');
    const innerAttrs: Attrs = { packed: false };
    const after = readAttributes(toks, close + 1, innerAttrs, def.file, def.text);
    const inner: Definition = { ...def, tag: tagged ? toks[i + 1]!.text : '(anonymous)', union: isUnion, body: toks.slice(open + 1, close), attrs: innerAttrs, at: { file: def.file, line: lineAt(def.text, t.pos) } };
    inline = layoutBody(files, inner, paths, stack);
    i = after;
    if (toks[i]?.text === ';') {
      if (tagged) return i + 1; // a nested definition of a tag, no member
      out.push({ type: { kind: 'struct', layout: inline }, size: inline.size, natural: inline.align, anonymous: inline, tok: t });
      return i + 1;
    }
  } else {
    const spec = parseSpecifiers(toks, i);
    if (typeof spec === 'string') unknown(def, t, `cannot read member type: ${spec}`);
    base = spec.base;
    i = spec.next;
  }

  // Declarators.
  for (;;) {
    const start = toks[i];
    if (!start) unknown(def, t, 'member declaration without ";"');
    let ptr = 0;
    while (toks[i]?.text === '*' || toks[i]?.kind === 'id' && ['const', 'volatile'].includes(toks[i]!.text)) if (toks[i++]!.text === '*') ptr++;
    let name: string;
    let funcPtr = false;
    if (toks[i]?.text === '(' && toks[i + 1]?.text === '*') {
      // Function pointer: `ret (*name)(args)`.
      name = toks[i + 2]?.text ?? '';
      if (toks[i + 2]?.kind !== 'id' || toks[i + 3]?.text !== ')') unknown(def, toks[i], 'unsupported declarator');
      const end = skipParens(toks, i + 4);
      if (end < 0) unknown(def, toks[i], 'unsupported function pointer declarator');
      i = end;
      funcPtr = true;
    } else {
      if (toks[i]?.kind !== 'id') unknown(def, toks[i] ?? start, `expected a member name, found "${toks[i]?.text ?? 'end'}"`);
      name = toks[i++]!.text;
    }
    const dims: number[] = [];
    while (toks[i]?.text === '[') {
      if (toks[i + 1]?.text === ']') {
        dims.push(0); // flexible array member
        i += 2;
        continue;
      }
      const v = toks[i + 2]?.text === ']' ? intLiteral(toks[i + 1]!.text) : undefined;
      if (v === undefined) unknown(def, toks[i], `array size of ${name} is not an integer literal (seamlab does not expand macros here)`);
      dims.push(v);
      i += 3;
    }
    if (toks[i]?.text === ':') unknown(def, toks[i], `bit-field ${name}`);
    const fa: Attrs = { packed: false };
    i = readAttributes(toks, i, fa, def.file, def.text);

    let type: CType;
    let size: number;
    let align: number;
    if (funcPtr || ptr > 0) {
      type = funcPtr ? { kind: 'pointer', to: { kind: 'void' }, spelled: 'function' } : { kind: 'pointer', to: ptr > 1 ? { kind: 'void' } : pointee(base ?? { kind: 'void' }), spelled: base ? spellType(base, ptr - 1).trim() : 'void' };
      size = 8;
      align = 8;
    } else if (inline) {
      type = { kind: 'struct', layout: inline };
      size = inline.size;
      align = inline.align;
    } else if (base!.kind === 'struct') {
      const nested = layoutTag(files, base!.tag, base!.union, paths, stack);
      type = { kind: 'struct', layout: nested };
      size = nested.size;
      align = nested.align;
    } else {
      const s = scalarType(def, base!, t);
      type = s.type;
      size = s.size;
      align = s.align;
    }
    for (const d of dims.reverse()) {
      type = { kind: 'array', of: type, length: d };
      size *= d;
    }
    const explicit = lead.aligned || fa.aligned ? Math.max(lead.aligned ?? 1, fa.aligned ?? 1) : undefined;
    out.push({ name, type, size, natural: align, ...(explicit ? { explicitAlign: explicit } : {}), ...(lead.packed || fa.packed ? { packed: true } : {}), tok: t });
    if (toks[i]?.text === ',') {
      i++;
      continue;
    }
    if (toks[i]?.text === ';') return i + 1;
    unknown(def, toks[i] ?? t, `unexpected "${toks[i]?.text ?? 'end'}" in the declaration of ${name}`);
  }
}

/** Index of the `}` closing the `{` at `open`, or -1 when the text ends first. */
function matchingBrace(toks: readonly { text: string }[], open: number): number {
  let depth = 0;
  for (let k = open; k < toks.length; k++) {
    if (toks[k]!.text === '{') depth++;
    else if (toks[k]!.text === '}' && --depth === 0) return k;
  }
  return -1;
}
