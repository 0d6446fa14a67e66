/**
 * Reads a kernel tree's Kconfig files (Documentation/kbuild/kconfig-language.rst):
 * config / menuconfig / choice entries with their type, prompt, defaults,
 * `depends on`, `select`, `imply`, `range`; menu / if blocks whose
 * conditions apply to everything inside; `source` of further files; and
 * the macro language (`VAR := …`, `$(fn,args)`), expanded as the files are
 * read — see macros.ts for how toolchain probes are answered.
 *
 * A `source` of a file the tree does not have (seamlab's cache holds only
 * part of the tree) is recorded, not an error: its symbols are undefined,
 * which Kconfig treats as `n`.
 */
import { SeamlabError } from '../../errors.js';
import { locationAt } from '../../support/source-location.js';
import type { ReadonlyFs } from '../../support/vfs.js';
import type { KconfigMacros } from './macros.js';

export type KExpr =
  | { op: 'sym'; name: string }
  | { op: 'const'; value: string }
  | { op: 'not'; a: KExpr }
  | { op: 'and' | 'or'; a: KExpr; b: KExpr }
  | { op: '=' | '!=' | '<' | '>' | '<=' | '>='; a: KExpr; b: KExpr };

export type KType = 'bool' | 'tristate' | 'int' | 'hex' | 'string';

export interface KProperty {
  /** Condition written after `if` (undefined = always). */
  cond?: KExpr;
  /** Dependencies of the enclosing menus/ifs and the entry's `depends on` at the point of definition. */
  deps?: KExpr;
}

export interface KSymbol {
  name: string;
  type?: KType;
  prompts: (KProperty & { text: string })[];
  defaults: (KProperty & { value: KExpr })[];
  selects: (KProperty & { target: string })[];
  implies: (KProperty & { target: string })[];
  ranges: (KProperty & { lo: KExpr; hi: KExpr })[];
  /** AND of all `depends on` and enclosing conditions, one per definition (a symbol may be defined in several places). */
  depsPerDefinition: (KExpr | undefined)[];
  /** The choice this symbol is a member of. */
  choice?: KChoice;
  definedAt: { file: string; line: number }[];
}

export interface KChoice {
  id: number;
  prompts: (KProperty & { text: string })[];
  defaults: (KProperty & { value: KExpr })[];
  deps?: KExpr;
  members: KSymbol[];
  definedAt: { file: string; line: number };
}

export interface KconfigTree {
  symbols: Map<string, KSymbol>;
  /** Symbols in definition order (for autoconf.h). */
  order: KSymbol[];
  choices: KChoice[];
  mainmenu?: string;
  /** `source`d files the tree does not contain. */
  missingSources: string[];
  filesRead: string[];
}

export function and(a: KExpr | undefined, b: KExpr | undefined): KExpr | undefined {
  if (!a) return b;
  if (!b) return a;
  return { op: 'and', a, b };
}

export class KconfigParseError extends SeamlabError {}

type Tok = { t: 'word'; v: string } | { t: 'str'; v: string } | { t: 'op'; v: string };

/** Characters of a word token: [A-Za-z0-9_\-.$/+]. */
const WORD_CHAR = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.$/+') WORD_CHAR[c.charCodeAt(0)] = 1;

/** Tokenises one logical line (after macro expansion). */
function tokenize(line: string, file: string, lineNo: number): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    const c = line.charCodeAt(i);
    if (c === 32 || c === 9) {
      i++;
      continue;
    }
    if (c === 35) break; // #
    if (c === 34 || c === 39) {
      // "…" or '…', with backslash escapes.
      let j = i + 1;
      let v = '';
      let from = j;
      while (j < n && line.charCodeAt(j) !== c) {
        if (line.charCodeAt(j) === 92 && j + 1 < n) {
          v += line.slice(from, j);
          j++;
          from = j;
        }
        j++;
      }
      if (j >= n) throw new KconfigParseError('KCONFIG_SYNTAX', `unterminated string`, 'close the string', { where: { ...locationAt({ file, line: lineNo }), text: line } });
      out.push({ t: 'str', v: v + line.slice(from, j) });
      i = j + 1;
      continue;
    }
    const d = i + 1 < n ? line.charCodeAt(i + 1) : 0;
    // != <= >= && ||
    if ((d === 61 && (c === 33 || c === 60 || c === 62)) || (c === 38 && d === 38) || (c === 124 && d === 124)) {
      out.push({ t: 'op', v: line.slice(i, i + 2) });
      i += 2;
      continue;
    }
    // = < > ! ( )
    if (c === 61 || c === 60 || c === 62 || c === 33 || c === 40 || c === 41) {
      out.push({ t: 'op', v: line[i]! });
      i++;
      continue;
    }
    let j = i;
    while (j < n) {
      const k = line.charCodeAt(j);
      if (k >= 128 || WORD_CHAR[k] === 0) break;
      j++;
    }
    if (j === i) throw new KconfigParseError('KCONFIG_SYNTAX', `unexpected character ${JSON.stringify(line[i])}`, 'check the Kconfig syntax', { where: { ...locationAt({ file, line: lineNo }), text: line } });
    out.push({ t: 'word', v: line.slice(i, j) });
    i = j;
  }
  return out;
}

class ExprParser {
  constructor(
    private readonly toks: Tok[],
    private readonly where: () => never,
    /** Index of the first token to parse (after the keyword). */
    private i = 0,
  ) {}
  done(): boolean {
    return this.i >= this.toks.length;
  }
  peekWord(): string | undefined {
    const t = this.toks[this.i];
    return t && t.t === 'word' ? t.v : undefined;
  }
  rest(): Tok[] {
    return this.toks.slice(this.i);
  }
  skip(n = 1): void {
    this.i += n;
  }
  parse(): KExpr {
    return this.or();
  }
  private or(): KExpr {
    let a = this.and();
    while (this.isOp('||')) {
      this.i++;
      a = { op: 'or', a, b: this.and() };
    }
    return a;
  }
  private and(): KExpr {
    let a = this.not();
    while (this.isOp('&&')) {
      this.i++;
      a = { op: 'and', a, b: this.not() };
    }
    return a;
  }
  private not(): KExpr {
    if (this.isOp('!')) {
      this.i++;
      return { op: 'not', a: this.not() };
    }
    return this.cmp();
  }
  private cmp(): KExpr {
    const a = this.atom();
    for (const op of ['=', '!=', '<', '>', '<=', '>='] as const) {
      if (this.isOp(op)) {
        this.i++;
        return { op, a, b: this.atom() };
      }
    }
    return a;
  }
  private atom(): KExpr {
    const t = this.toks[this.i++];
    if (!t) return this.where();
    if (t.t === 'op' && t.v === '(') {
      const e = this.or();
      if (!this.isOp(')')) this.where();
      this.i++;
      return e;
    }
    if (t.t === 'str') return { op: 'const', value: t.v };
    if (t.t === 'word') {
      if (t.v === 'if') return this.where();
      return /^(-?[0-9]+|0[xX][0-9a-fA-F]+)$/.test(t.v) || t.v === 'y' || t.v === 'n' || t.v === 'm' ? { op: 'const', value: t.v } : { op: 'sym', name: t.v };
    }
    return this.where();
  }
  isOp(v: string): boolean {
    const t = this.toks[this.i];
    return !!t && t.t === 'op' && t.v === v;
  }
}

interface Block {
  kind: 'menu' | 'if' | 'choice' | 'root';
  deps?: KExpr;
  choice?: KChoice;
}

/** Parses the Kconfig tree starting at `root` (normally "Kconfig"). */
export function parseKconfig(fs: ReadonlyFs, macros: KconfigMacros, root = 'Kconfig'): KconfigTree {
  const tree: KconfigTree = { symbols: new Map(), order: [], choices: [], missingSources: [], filesRead: [] };
  const blocks: Block[] = [{ kind: 'root' }];
  const ordered = new Set<KSymbol>();
  // The AND of the enclosing blocks' conditions, rebuilt only when a block or its condition changes.
  let envCache: { deps: KExpr | undefined; key: (KExpr | undefined)[] } | undefined;
  const envDeps = (): KExpr | undefined => {
    if (envCache && envCache.key.length === blocks.length && envCache.key.every((d, k) => d === blocks[k]!.deps)) return envCache.deps;
    const deps = blocks.reduce<KExpr | undefined>((acc, b) => and(acc, b.deps), undefined);
    envCache = { deps, key: blocks.map((b) => b.deps) };
    return deps;
  };

  const symbol = (name: string): KSymbol => {
    let s = tree.symbols.get(name);
    if (!s) {
      s = { name, prompts: [], defaults: [], selects: [], implies: [], ranges: [], depsPerDefinition: [], definedAt: [] };
      tree.symbols.set(name, s);
    }
    return s;
  };

  const readFile = (file: string): void => {
    const text = fs.readFile(file);
    if (text === undefined) {
      tree.missingSources.push(file);
      return;
    }
    tree.filesRead.push(file);
    const lines = text.split('\n');
    // The entry being defined and the properties it has gathered.
    let entry: { sym?: KSymbol; choice?: KChoice; menuBlock?: Block; deps?: KExpr; props: (() => void)[]; at: { file: string; line: number } } | undefined;

    const finishEntry = (): void => {
      if (!entry) return;
      const deps = and(envDeps(), entry.deps);
      for (const p of entry.props) p.call(null);
      if (entry.sym) {
        entry.sym.depsPerDefinition.push(deps);
        for (const list of [entry.sym.prompts, entry.sym.defaults, entry.sym.selects, entry.sym.implies, entry.sym.ranges] as KProperty[][]) {
          for (const p of list) if (p.deps === PENDING) p.deps = deps;
        }
      }
      if (entry.choice) {
        entry.choice.deps = deps;
        // The choice's own `depends on` applies to its members.
        const blk = blocks.find((b) => b.choice === entry!.choice);
        if (blk) blk.deps = entry.deps;
        for (const list of [entry.choice.prompts, entry.choice.defaults] as KProperty[][]) for (const p of list) if (p.deps === PENDING) p.deps = deps;
      }
      if (entry.menuBlock) entry.menuBlock.deps = and(entry.menuBlock.deps, entry.deps);
      entry = undefined;
    };

    // The line being read (one closure each for errors and `if` conditions per file, not per line).
    let lineNo = 0;
    let raw = '';
    let p!: ExprParser;
    const bad = (): never => {
      throw new KconfigParseError('KCONFIG_SYNTAX', `cannot read this Kconfig line`, 'check the Kconfig syntax', { where: { ...locationAt({ file, line: lineNo }), text: raw } });
    };
    const cond = (): KExpr | undefined => {
      if (p.peekWord() === 'if') {
        p.skip();
        return p.parse();
      }
      if (!p.done()) bad();
      return undefined;
    };

    for (let ln = 0; ln < lines.length; ln++) {
      raw = lines[ln]!;
      lineNo = ln + 1;
      while (raw.endsWith('\\') && ln + 1 < lines.length) raw = raw.slice(0, -1) + lines[++ln]!;
      if (blankOrComment(raw)) continue;
      // Variable assignments of the macro language.
      const assign = raw.includes('=') ? /^\s*([A-Za-z0-9_-]+)\s*(:=|\+=|=)\s*(.*)$/.exec(raw) : null;
      if (assign && !/^(config|menuconfig|choice|default|depends|select|imply|range|prompt|bool|tristate|int|hex|string|def_bool|def_tristate|help|menu|if|source|comment|mainmenu|visible|option|modules|transitional)$/.test(assign[1]!)) {
        macros.assign(assign[1]!, assign[2] as ':=' | '=' | '+=', assign[3]!, { file, line: lineNo });
        continue;
      }
      const line = raw.includes('$') ? macros.expand(raw, { file, line: lineNo }) : raw;
      const toks = tokenize(line, file, lineNo);
      if (toks.length === 0) continue;
      const kw = toks[0]!.t === 'word' ? toks[0]!.v : '';
      p = new ExprParser(toks, bad, 1);

      switch (kw) {
        case 'config':
        case 'menuconfig': {
          finishEntry();
          const name = p.peekWord() ?? bad();
          const sym = symbol(name);
          sym.definedAt.push({ file, line: lineNo });
          const top = blocks[blocks.length - 1]!;
          if (top.kind === 'choice' && top.choice && sym.choice !== top.choice) {
            sym.choice = top.choice;
            top.choice.members.push(sym);
          }
          if (!ordered.has(sym)) {
            ordered.add(sym);
            tree.order.push(sym);
          }
          entry = { sym, props: [], at: { file, line: lineNo } };
          break;
        }
        case 'choice': {
          finishEntry();
          const choice: KChoice = { id: tree.choices.length, prompts: [], defaults: [], members: [], definedAt: { file, line: lineNo } };
          tree.choices.push(choice);
          blocks.push({ kind: 'choice', choice });
          entry = { choice, props: [], at: { file, line: lineNo } };
          break;
        }
        case 'endchoice':
          finishEntry();
          if (blocks.pop()?.kind !== 'choice') bad();
          break;
        case 'menu': {
          finishEntry();
          const b: Block = { kind: 'menu' };
          entry = { menuBlock: b, props: [], at: { file, line: lineNo } };
          // The menu's own `depends on` lines follow; the block is pushed now so they apply to it.
          blocks.push(b);
          break;
        }
        case 'endmenu':
          finishEntry();
          if (blocks.pop()?.kind !== 'menu') bad();
          break;
        case 'if': {
          finishEntry();
          blocks.push({ kind: 'if', deps: p.parse() });
          break;
        }
        case 'endif':
          finishEntry();
          if (blocks.pop()?.kind !== 'if') bad();
          break;
        case 'source':
        case 'rsource':
        case 'osource':
        case 'orsource': {
          finishEntry();
          const t = toks[1];
          if (!t || t.t !== 'str') bad();
          let target = (t as { v: string }).v;
          if (kw === 'rsource' || kw === 'orsource') target = `${file.slice(0, file.lastIndexOf('/') + 1)}${target}`;
          if (target.includes('*')) {
            // Globbed sources (osource "arch/*/Kconfig") are not used by the trees seamlab reads.
            tree.missingSources.push(target);
            break;
          }
          readFile(target);
          break;
        }
        case 'comment':
          finishEntry();
          entry = { props: [], at: { file, line: lineNo } };
          break;
        case 'mainmenu':
          finishEntry();
          if (toks[1]?.t === 'str') tree.mainmenu = toks[1].v;
          break;
        case 'bool':
        case 'tristate':
        case 'int':
        case 'hex':
        case 'string':
        case 'def_bool':
        case 'def_tristate': {
          if (!entry) bad();
          const type = kw === 'def_bool' ? 'bool' : kw === 'def_tristate' ? 'tristate' : kw;
          const target = entry!.sym;
          if (target) target.type = type;
          if (kw.startsWith('def_')) {
            const value = p.parse();
            const c = cond();
            if (target) target.defaults.push({ value, cond: c, deps: PENDING });
            else if (entry!.choice) entry!.choice.defaults.push({ value, cond: c, deps: PENDING });
          } else if (!p.done()) {
            const t = p.rest()[0]!;
            if (t.t !== 'str') bad();
            p.skip();
            const c = cond();
            if (target) target.prompts.push({ text: t.v, cond: c, deps: PENDING });
            else if (entry!.choice) entry!.choice.prompts.push({ text: t.v, cond: c, deps: PENDING });
          }
          break;
        }
        case 'prompt': {
          if (!entry) bad();
          const t = p.rest()[0];
          if (!t || t.t !== 'str') bad();
          p.skip();
          const c = cond();
          if (entry!.sym) entry!.sym.prompts.push({ text: (t as { v: string }).v, cond: c, deps: PENDING });
          else if (entry!.choice) entry!.choice.prompts.push({ text: (t as { v: string }).v, cond: c, deps: PENDING });
          break;
        }
        case 'default': {
          if (!entry) bad();
          const value = p.parse();
          const c = cond();
          if (entry!.sym) entry!.sym.defaults.push({ value, cond: c, deps: PENDING });
          else if (entry!.choice) entry!.choice.defaults.push({ value, cond: c, deps: PENDING });
          break;
        }
        case 'depends': {
          if (!entry) bad();
          if (p.peekWord() !== 'on') bad();
          p.skip();
          entry!.deps = and(entry!.deps, p.parse());
          break;
        }
        case 'visible':
          // `visible if` on a menu only hides prompts; it does not change values.
          break;
        case 'select':
        case 'imply': {
          if (!entry?.sym) bad();
          const target = p.peekWord() ?? bad();
          p.skip();
          const c = cond();
          (kw === 'select' ? entry!.sym!.selects : entry!.sym!.implies).push({ target, cond: c, deps: PENDING });
          break;
        }
        case 'range': {
          if (!entry?.sym) bad();
          const lo = p.parse();
          const hi = p.parse();
          entry!.sym!.ranges.push({ lo, hi, cond: cond(), deps: PENDING });
          break;
        }
        case 'help':
        case '---help---': {
          // Help text (zconf.l): the first text line sets the indentation; a
          // line indented less (or not at all) ends it.
          let indent = -1;
          while (ln + 1 < lines.length) {
            const next = lines[ln + 1]!;
            let ind = 0;
            let k = 0;
            for (; k < next.length; k++) {
              const ch = next.charCodeAt(k);
              if (ch === 9) ind = (ind & ~7) + 8;
              else if (ch === 32) ind++;
              else break;
            }
            if (k === next.length || next.trim() === '') {
              ln++;
              continue;
            }
            if (ind === 0 || (indent >= 0 && ind < indent)) break;
            if (indent < 0) indent = ind;
            ln++;
          }
          break;
        }
        case 'option':
        case 'modules':
        case 'transitional':
          break;
        default:
          bad();
      }
    }
    finishEntry();
  };

  readFile(root);
  return tree;
}

/** `/^\s*(#|$)/` without a regular expression for the common characters. */
function blankOrComment(line: string): boolean {
  for (let k = 0; k < line.length; k++) {
    const c = line.charCodeAt(k);
    if (c === 32 || c === 9) continue;
    if (c === 35) return true;
    if (c > 13 && c < 128) return false;
    // \r, \v, \f, \n and non-ASCII white space: as the regular expression says.
    return /^\s*(#|$)/.test(line.slice(k));
  }
  return true;
}

/** Marker for property dependencies filled in when the entry ends. */
const PENDING: KExpr = { op: 'const', value: '<pending>' };
