/**
 * include/generated/asm-offsets.h, as Kbuild makes it from
 * arch/x86/kernel/asm-offsets.c — without a C compiler.
 *
 * Kbuild compiles asm-offsets.c to assembly: each `OFFSET(sym, str, mem)` /
 * `DEFINE(sym, val)` of <linux/kbuild.h> becomes
 * `.ascii "->sym $value val-as-written"`, which a sed script turns into
 * `#define sym value /* val-as-written *\/` (scripts/Makefile.lib,
 * sed-offsets / filechk_offsets).
 *
 * seamlab does the same with its own preprocessor in C mode: asm-offsets.c
 * (and the asm-offsets_64.c it includes) is preprocessed with the
 * configuration, so its #ifdef/#if select the entries a real build has and
 * the `val-as-written` text is exactly what cpp's `#` operator produces.
 * The C headers it includes are not preprocessed — only <linux/kbuild.h>
 * (the OFFSET/DEFINE/BLANK macros) and the configuration are — and the
 * values (`offsetof(struct x, a.b)`, `sizeof(struct x)`, integer
 * arithmetic) are computed from the struct definitions with seamlab's
 * layout code (src/intake/c-layout.ts), searching the headers asm-offsets.c
 * includes, directly or not.
 *
 * An entry whose value cannot be computed (a struct whose layout depends on
 * the configuration, an expression that is not one of those forms) is left
 * out of the header, with a comment saying why, and recorded: preprocessing
 * a file that uses that name is an error naming the name, the reason and
 * the asm-offsets.c line — never a guessed value.
 */
import { SeamlabError } from '../errors.js';
import { locationAt, type SourcePos } from '../support/source-location.js';
import { findStruct, findUnion, memberOffset } from '../intake/c-layout.js';
import type { ReadonlyFs } from '../support/vfs.js';
import type { StructLayout } from '../intake/types.js';
import { listingFileTest, searchInclude, type SearchChain } from '../cpp/include-search.js';
import { includeGuard, Preprocessor, type LineProbe } from '../cpp/preprocessor.js';
import { signedOf, trunc } from '../cpp/expr.js';
import { lexCached } from '../cpp/lexer.js';
import type { Token } from '../cpp/token.js';

export const ASM_OFFSETS_SOURCE = 'arch/x86/kernel/asm-offsets.c';
export const ASM_OFFSETS_HEADER = 'include/generated/asm-offsets.h';

export interface AsmOffsetEntry {
  name: string;
  value: bigint;
  /** The value expression as written (after OFFSET's expansion), e.g. "offsetof(struct tdx_module_args, rcx)". */
  text: string;
  at: SourcePos;
}

export interface OmittedOffset {
  name: string;
  text: string;
  reason: string;
  at: SourcePos;
  /** When the value names a struct or union the headers no longer define (e.g. "struct tdx_module_output"). */
  missingType?: string;
}

export interface AsmOffsets {
  header: string;
  entries: AsmOffsetEntry[];
  omitted: Map<string, OmittedOffset>;
}

interface AsmStatement {
  strings: string;
  operand?: Token[];
  at: SourcePos;
}

/**
 * Generates asm-offsets.h. `fs` must already hold the generated
 * autoconf.h; `chain`, `forcedIncludes` and `predefines` are the C-mode
 * equivalents of Kbuild's c_flags.
 */
export function generateAsmOffsets(fs: ReadonlyFs, chain: SearchChain, forcedIncludes: string[], predefines: string, headers: ReadonlyFs = fs): AsmOffsets {
  if (!fs.exists(ASM_OFFSETS_SOURCE)) {
    return { header: wrap([`/* ${ASM_OFFSETS_SOURCE} is not in this tree */`]), entries: [], omitted: new Map() };
  }
  const pp = new Preprocessor(fs, {
    mode: 'c',
    chain,
    forcedIncludes,
    predefines,
    // The DEFINE/OFFSET/BLANK protocol and the configuration; the C headers' contents are read by the layout code instead.
    includeFilter: (name, angled) => !angled || name === 'linux/kbuild.h' || name === 'generated/autoconf.h',
  });
  const run = pp.run(ASM_OFFSETS_SOURCE);
  const statements = findAsmStatements(run.lineTokens, run.origins.map((o) => o.pos));
  const layouts = layoutCache(headers, chain);

  const checker = new DefinitionChecker(fs, chain, forcedIncludes, predefines);
  const lines: string[] = [];
  const entries: AsmOffsetEntry[] = [];
  const omitted = new Map<string, OmittedOffset>();
  for (const st of statements) {
    const m = /\.ascii\s*"(.*)"/s.exec(st.strings);
    if (!m || !m[1]!.startsWith('->')) continue;
    const body = m[1]!;
    if (body === '->') {
      lines.push('');
      continue;
    }
    if (body.startsWith('->#')) {
      lines.push(`/* ${body.slice(3)} */`);
      continue;
    }
    const dm = /^->(\S*) %0 (.*)$/s.exec(body);
    if (!dm || !st.operand) {
      throw new SeamlabError('ASM_OFFSETS_UNKNOWN', `asm-offsets.c: cannot read the asm statement ${JSON.stringify(body)}`, 'seamlab understands the DEFINE/OFFSET/BLANK/COMMENT macros of <linux/kbuild.h>', { where: locationAt(st.at) });
    }
    const [, name, text] = dm as unknown as [string, string, string];
    let expr: OffsetExpr | undefined;
    try {
      expr = new OffsetExpr(layouts, st.operand);
      const value = expr.evaluate();
      for (const layout of expr.layouts) checker.check(layout);
      entries.push({ name, value, text, at: st.at });
      lines.push(`#define ${name} ${signedOf(value)} /* ${text} */`);
    } catch (e) {
      if (!(e instanceof SeamlabError)) throw e;
      const reason = e.where ? `${e.message} (${e.where.pos.file}:${e.where.pos.line})` : e.message;
      omitted.set(name, { name, text, reason, at: st.at, ...(expr?.missingType ? { missingType: expr.missingType } : {}) });
      lines.push(`/* seamlab: ${name} left out: ${reason.replace(/\*\//g, '* /')} */`);
    }
  }
  return { header: wrap(lines), entries, omitted };
}

function wrap(lines: string[]): string {
  return ['#ifndef __ASM_OFFSETS_H__', '#define __ASM_OFFSETS_H__', '/*', ' * DO NOT MODIFY.', ' *', ' * This file was generated by Kbuild', ' * (seamlab computed the values; see src/kbuild/asm-offsets.ts)', ' */', '', ...lines, '', '#endif', ''].join('\n');
}

/** `asm volatile("…" : : "i" (expr))` statements in the preprocessed asm-offsets.c. */
function findAsmStatements(lineTokens: Token[][], positions: SourcePos[]): AsmStatement[] {
  const toks: { t: Token; at: SourcePos }[] = [];
  lineTokens.forEach((l, i) => l.forEach((t) => toks.push({ t, at: positions[i]! })));
  const out: AsmStatement[] = [];
  for (let i = 0; i < toks.length; i++) {
    if (toks[i]!.t.text !== 'asm' && toks[i]!.t.text !== '__asm__') continue;
    let j = i + 1;
    while (j < toks.length && (toks[j]!.t.text === 'volatile' || toks[j]!.t.text === '__volatile__')) j++;
    if (toks[j]?.t.text !== '(') continue;
    // Collect up to the matching parenthesis, splitting at top-level colons.
    let depth = 0;
    const sections: Token[][] = [[]];
    let k = j;
    for (; k < toks.length; k++) {
      const t = toks[k]!.t;
      if (t.text === '(') {
        depth++;
        if (depth === 1) continue;
      } else if (t.text === ')') {
        depth--;
        if (depth === 0) break;
      } else if (t.text === ':' && depth === 1) {
        sections.push([]);
        continue;
      }
      sections[sections.length - 1]!.push(t);
    }
    const strings = sections[0]!.filter((t) => t.kind === 'string').map((t) => unescapeC(t.text.slice(1, -1))).join('');
    let operand: Token[] | undefined;
    const inputs = sections[2];
    if (inputs && inputs.length >= 3 && inputs[0]!.kind === 'string' && inputs[1]!.text === '(') operand = inputs.slice(2, -1);
    out.push({ strings, operand, at: toks[i]!.at });
    i = k;
  }
  return out;
}

function unescapeC(s: string): string {
  return s.replace(/\\(["\\'?abfnrtv]|[0-7]{1,3})/g, (_, e: string) => {
    const map: Record<string, string> = { n: '\n', t: '\t', a: '\x07', b: '\b', f: '\f', r: '\r', v: '\v' };
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return map[e] ?? e;
  });
}

/** Headers a C file includes, directly or not, in breadth-first order (conditionals ignored). */
export function includeClosure(fs: ReadonlyFs, chain: SearchChain, file: string, limit = 4000): string[] {
  const seen = new Set<string>([file]);
  const order: string[] = [];
  const isFile = listingFileTest(fs);
  const queue: { tree: string; spelled: string; dirIndex: number }[] = [{ tree: file, spelled: file, dirIndex: -2 }];
  while (queue.length && order.length < limit) {
    const cur = queue.shift()!;
    const text = fs.readFile(cur.tree);
    if (text === undefined) continue;
    if (cur.tree !== file) order.push(cur.tree);
    for (const m of text.matchAll(/^[ \t]*#[ \t]*include[ \t]*([<"])([^>"]+)[>"]/gm)) {
      const r = searchInclude(fs, chain, m[2]!, m[1] === '<', 'include', cur, isFile);
      if (r.found && !seen.has(r.found.tree)) {
        seen.add(r.found.tree);
        queue.push(r.found);
      }
    }
  }
  return order;
}

/** Evaluates the value operand of DEFINE(): integers, offsetof, sizeof of structs and unions, C arithmetic. */
/** Struct layouts found in the headers asm-offsets.c includes (the same for every profile). */
interface LayoutCache {
  get(tag: string, union: boolean): StructLayout;
}

const layoutCaches = new WeakMap<ReadonlyFs, Map<string, LayoutCache>>();

function layoutCache(headers: ReadonlyFs, chain: SearchChain): LayoutCache {
  let perFs = layoutCaches.get(headers);
  if (!perFs) {
    perFs = new Map();
    layoutCaches.set(headers, perFs);
  }
  const key = JSON.stringify(chain);
  let c = perFs.get(key);
  if (!c) {
    let paths: string[] | undefined;
    const found = new Map<string, StructLayout | SeamlabError>();
    c = {
      get(tag, union) {
        const k = `${union ? 'union' : 'struct'} ${tag}`;
        let r = found.get(k);
        if (!r) {
          paths ??= includeClosure(headers, chain, ASM_OFFSETS_SOURCE);
          try {
            r = union ? findUnion(headers, tag, paths) : findStruct(headers, tag, paths);
          } catch (e) {
            if (!(e instanceof SeamlabError)) throw e;
            r = e;
          }
          found.set(k, r);
        }
        if (r instanceof SeamlabError) throw r;
        return r;
      },
    };
    perFs.set(key, c);
  }
  return c;
}

class OffsetExpr {
  private i = 0;
  /** Struct layouts the value was computed from. */
  readonly layouts: StructLayout[] = [];
  /** A struct or union the value names that no header defines. */
  missingType?: string;
  constructor(
    private readonly structs: LayoutCache,
    private readonly toks: Token[],
  ) {}

  evaluate(): bigint {
    const v = this.expr();
    if (this.i < this.toks.length) this.unknown(`unexpected "${this.toks[this.i]!.text}"`);
    return trunc(v);
  }

  private unknown(what: string): never {
    throw new SeamlabError('ASM_OFFSETS_UNKNOWN', `value not computable: ${what} in "${this.toks.map((t) => t.text).join(' ')}"`, 'seamlab computes integer constants, offsetof(struct …, member) and sizeof(struct …)');
  }
  private peek(): string | undefined {
    return this.toks[this.i]?.text;
  }
  private take(expect?: string): Token {
    const t = this.toks[this.i++];
    if (!t) this.unknown('unexpected end');
    if (expect !== undefined && t.text !== expect) this.unknown(`expected "${expect}", found "${t.text}"`);
    return t;
  }

  private static readonly LEVELS = [['|'], ['^'], ['&'], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];

  private expr(level = 0): bigint {
    if (level >= OffsetExpr.LEVELS.length) return this.unary();
    let a = this.expr(level + 1);
    for (;;) {
      const op = this.peek();
      if (!op || !OffsetExpr.LEVELS[level]!.includes(op)) return a;
      this.i++;
      const b = this.expr(level + 1);
      switch (op) {
        case '|':
          a |= b;
          break;
        case '^':
          a ^= b;
          break;
        case '&':
          a &= b;
          break;
        case '<<':
          a <<= b;
          break;
        case '>>':
          a >>= b;
          break;
        case '+':
          a += b;
          break;
        case '-':
          a -= b;
          break;
        case '*':
          a *= b;
          break;
        case '/':
        case '%':
          if (b === 0n) this.unknown('division by zero');
          a = op === '/' ? a / b : a % b;
          break;
      }
    }
  }

  private unary(): bigint {
    const t = this.peek();
    if (t === '-') {
      this.i++;
      return -this.unary();
    }
    if (t === '~') {
      this.i++;
      // sizeof yields size_t: ~ on it is a 64-bit unsigned complement.
      return trunc(~this.unary());
    }
    if (t === '+') {
      this.i++;
      return this.unary();
    }
    return this.primary();
  }

  private primary(): bigint {
    const t = this.take();
    if (t.kind === 'number') {
      const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)[uUlL]*$/.exec(t.text);
      if (!m) this.unknown(`number ${t.text}`);
      const d = m[1]!;
      return d.length > 1 && d.startsWith('0') && !/^0[xX]/.test(d) ? BigInt('0o' + d.slice(1)) : BigInt(d);
    }
    if (t.text === '(') {
      const v = this.expr();
      this.take(')');
      return v;
    }
    if (t.text === 'offsetof' || t.text === '__builtin_offsetof') {
      this.take('(');
      const { union, tag } = this.tagged();
      this.take(',');
      let member = '';
      while (this.peek() !== ')' && this.peek() !== undefined) {
        const p = this.take();
        if (p.kind !== 'name' && p.text !== '.') this.unknown(`member designator "${p.text}"`);
        member += p.text;
      }
      this.take(')');
      const layout = this.layout(tag, union);
      return BigInt(memberOffset(layout, member).offset);
    }
    if (t.text === 'sizeof') {
      this.take('(');
      const { union, tag } = this.tagged();
      this.take(')');
      const layout = this.layout(tag, union);
      return BigInt(layout.size);
    }
    this.unknown(`"${t.text}"`);
  }

  private layout(tag: string, union: boolean): StructLayout {
    try {
      const layout = this.structs.get(tag, union);
      this.layouts.push(layout);
      return layout;
    } catch (e) {
      if (e instanceof SeamlabError && e.code === 'C_STRUCT_NOT_FOUND') this.missingType = `${union ? 'union' : 'struct'} ${tag}`;
      throw e;
    }
  }

  private tagged(): { union: boolean; tag: string } {
    const kw = this.take();
    if (kw.text !== 'struct' && kw.text !== 'union') this.unknown(`type "${kw.text}" (only struct and union types)`);
    const tag = this.take();
    if (tag.kind !== 'name') this.unknown(`struct tag "${tag.text}"`);
    return { union: kw.text === 'union', tag: tag.text };
  }
}

/**
 * The layout code reads a header's first definition of a struct without
 * preprocessing it. A definition inside a conditional group may not be the
 * one this configuration compiles (x86's `struct pt_regs` has an i386 and
 * an x86-64 definition), so each definition used is checked: its header is
 * preprocessed alone in C mode with the configuration, and the definition
 * must be in a live group whose conditions tested only names whose
 * definedness is known without the other headers — CONFIG_* options, the
 * header's own include guard, and compiler/command-line macros
 * (`__NAME__`: __ASSEMBLY__, __KERNEL__, __i386__ …). Otherwise the entry is
 * left out rather than computed from a definition that may be the wrong one.
 */
class DefinitionChecker {
  private readonly probes = new Map<string, Map<number, LineProbe> | Error>();

  constructor(
    private readonly fs: ReadonlyFs,
    private readonly chain: SearchChain,
    private readonly forcedIncludes: string[],
    private readonly predefines: string,
  ) {}

  check(layout: StructLayout): void {
    const seen = new Set<StructLayout>();
    const visit = (l: StructLayout): void => {
      if (seen.has(l)) return;
      seen.add(l);
      this.checkOne(l);
      for (const f of l.fields) {
        let t = f.type;
        while (t.kind === 'array') t = t.of;
        if (t.kind === 'struct') visit(t.layout);
      }
    };
    visit(layout);
  }

  private checkOne(l: StructLayout): void {
    const { file, line } = l.definedAt;
    const probes = this.probe(file, line);
    const what = `the definition of ${l.name} at ${file}:${line}`;
    if (probes instanceof Error) {
      throw new SeamlabError('ASM_OFFSETS_UNCERTAIN', `${what} could not be checked against the configuration (${probes.message})`, 'seamlab only uses struct definitions it can place in the configuration');
    }
    const p = probes.get(line);
    if (!p) throw new SeamlabError('ASM_OFFSETS_UNCERTAIN', `${what} could not be located when preprocessing its header`, 'seamlab only uses struct definitions it can place in the configuration');
    if (!p.live) {
      throw new SeamlabError('ASM_OFFSETS_UNCERTAIN', `${what} is in a conditional group this configuration excludes (the layout code reads the first definition in the header)`, 'seamlab only uses struct definitions the configuration compiles');
    }
    const guard = includeGuard(lexForGuard(this.fs, file));
    for (const fr of p.frames) {
      const unknown = fr.undefinedNames.filter((n) => !n.startsWith('CONFIG_') && n !== guard && !/^__\w+__$/.test(n) && !n.startsWith('__has_include'));
      if (unknown.length) {
        throw new SeamlabError('ASM_OFFSETS_UNCERTAIN', `${what} is under #${fr.directive} at ${fr.at.file}:${fr.at.line}, which tests ${unknown.join(', ')} (defined, if at all, by another header)`, 'seamlab only uses struct definitions whose conditions it can decide');
      }
    }
  }

  private probe(file: string, line: number): Map<number, LineProbe> | Error {
    const key = `${file}`;
    let r = this.probes.get(key);
    if (r instanceof Map && !r.has(line)) r = undefined;
    if (!r) {
      try {
        const lines = new Set<number>([line]);
        const old = this.probes.get(key);
        if (old instanceof Map) for (const k of old.keys()) lines.add(k);
        const pp = new Preprocessor(this.fs, {
          mode: 'c',
          chain: this.chain,
          forcedIncludes: this.forcedIncludes,
          predefines: this.predefines,
          includeFilter: (name) => name === 'generated/autoconf.h',
          probeLines: lines,
        });
        r = pp.run(file).probes;
      } catch (e) {
        r = e instanceof Error ? e : new Error(String(e));
      }
      this.probes.set(key, r);
    }
    return r;
  }
}

function lexForGuard(fs: ReadonlyFs, file: string): import('../cpp/lexer.js').LexedFile {
  return lexCached(fs.readFile(file) ?? '', 'c');
}
