/**
 * The flags Kbuild passes to gcc for a `.S` file, read from the tree's own
 * Makefiles rather than written down per kernel version:
 *
 *   a_flags = $(NOSTDINC_FLAGS) $(LINUXINCLUDE) $(KBUILD_CPPFLAGS) $(KBUILD_AFLAGS)
 *             (+ the directory's asflags-y and AFLAGS_<file>.o)
 *
 * (scripts/Makefile.lib). A small GNU make reader evaluates the top
 * Makefile and arch/x86/Makefile as an in-tree `make ARCH=x86_64` object
 * build would: conditionals on CONFIG_* use the configuration,
 * `$(call cc-option,…)` asks the modelled toolchain, other includes
 * (Kbuild.include, auto.conf) are not read because what they provide is
 * modelled directly. Only what changes preprocessing is kept: -I,
 * -include, -D/-U, -nostdinc, -fmacro-prefix-map, -m64/-m32 and -f[no-]PIE.
 */
import { SeamlabError } from '../errors.js';
import type { ReadonlyFs } from '../support/vfs.js';
import type { Toolchain } from './kconfig/toolchain.js';

export interface KbuildFlags {
  /** -I directories in order, spelled as Kbuild spells them ("./arch/x86/include"). */
  includeDirs: string[];
  /** -include files in order. */
  forcedIncludes: string[];
  /** -D/-U in order, as `#define`/`#undef` lines. */
  defineLines: string[];
  /** The -D/-U flags themselves (for the gcc command line). */
  defineFlags: string[];
  macroPrefixMap: [string, string][];
  nostdinc: boolean;
  /** Every flag kept, in command-line order (what the gcc oracle gets). */
  argv: string[];
  notes: string[];
}

interface Var {
  value: string;
  recursive: boolean;
}

class MakeReader {
  readonly vars = new Map<string, Var>();
  readonly notes: string[] = [];
  private readonly commandLine: Set<string>;

  constructor(
    private readonly fs: ReadonlyFs,
    private readonly toolchain: Toolchain,
    config: Map<string, string>,
    commandLine: Record<string, string>,
  ) {
    for (const [k, v] of config) if (v !== 'n' && v !== '') this.vars.set(`CONFIG_${k}`, { value: v, recursive: false });
    for (const [k, v] of Object.entries(commandLine)) this.vars.set(k, { value: v, recursive: false });
    this.commandLine = new Set(Object.keys(commandLine));
  }

  get(name: string): string {
    const v = this.vars.get(name);
    if (!v) return '';
    return v.recursive ? this.expand(v.value) : v.value;
  }

  /** Reads one makefile; `include` of arch/$(SRCARCH)/Makefile is followed. */
  read(file: string): void {
    const text = this.fs.readFile(file);
    if (text === undefined) {
      this.notes.push(`${file} is not in the tree`);
      return;
    }
    const lines = text.replace(/\\\n[ \t]*/g, ' ').split('\n');
    // Conditional stack: each entry is [taking now, some branch already taken, parent taking].
    const conds: { taking: boolean; done: boolean; parent: boolean }[] = [];
    const taking = (): boolean => conds.length === 0 || conds[conds.length - 1]!.taking;
    let inRecipe = false;
    let inDefine: string | undefined;
    let defineBody: string[] = [];
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i]!;
      if (inDefine !== undefined) {
        if (/^\s*endef\b/.test(raw)) {
          if (taking()) this.vars.set(inDefine, { value: defineBody.join('\n'), recursive: true });
          inDefine = undefined;
          defineBody = [];
        } else defineBody.push(raw);
        continue;
      }
      if (raw.startsWith('\t') && inRecipe) continue;
      const line = stripComment(raw).trim();
      if (line === '') continue;
      const word = line.split(/\s+/)[0]!;
      if (['ifeq', 'ifneq', 'ifdef', 'ifndef'].includes(word)) {
        const parent = taking();
        const v = parent ? this.condition(line) : false;
        conds.push({ taking: parent && v, done: v, parent });
        continue;
      }
      if (word === 'else') {
        const c = conds[conds.length - 1];
        if (!c) continue;
        const rest = line.slice(4).trim();
        if (rest === '') {
          c.taking = c.parent && !c.done;
          c.done = true;
        } else {
          const v = c.parent && !c.done ? this.condition(rest) : false;
          c.taking = v;
          if (v) c.done = true;
        }
        continue;
      }
      if (word === 'endif') {
        conds.pop();
        continue;
      }
      if (!taking()) continue;
      if (word === 'define') {
        inDefine = line.split(/\s+/)[1];
        continue;
      }
      if (['include', '-include', 'sinclude'].includes(word)) {
        inRecipe = false;
        for (const f of this.expand(line.slice(word.length)).trim().split(/\s+/)) {
          const rel = f.replace(/^\.\//, '');
          if (/^arch\/[^/]+\/Makefile$/.test(rel)) this.read(rel);
        }
        continue;
      }
      const assign = /^(?:(?:override|export)\s+)*([A-Za-z0-9_.-]+)\s*(::=|:=|\+=|\?=|!=|=)\s*(.*)$/.exec(line);
      if (assign) {
        inRecipe = false;
        this.assign(assign[1]!, assign[2]!, assign[3]!);
        continue;
      }
      if (/^(export|unexport)\b/.test(line)) continue;
      if (/^[^=]*:/.test(line) && !line.startsWith('$(')) {
        inRecipe = true;
        continue;
      }
      // Anything else at top level ($(error …), $(eval …)) does not affect the flags read here.
    }
  }

  private assign(name: string, op: string, value: string): void {
    if (this.commandLine.has(name)) return;
    const old = this.vars.get(name);
    switch (op) {
      case ':=':
      case '::=':
        this.vars.set(name, { value: this.expand(value), recursive: false });
        return;
      case '=':
        this.vars.set(name, { value, recursive: true });
        return;
      case '?=':
        if (!old) this.vars.set(name, { value, recursive: true });
        return;
      case '+=':
        if (!old) this.vars.set(name, { value, recursive: true });
        else if (old.recursive) old.value = `${old.value} ${value}`;
        else old.value = `${old.value} ${this.expand(value)}`.trim();
        return;
      case '!=':
        this.notes.push(`${name} != … (shell assignment) not evaluated`);
        return;
    }
  }

  private condition(line: string): boolean {
    const m = /^(ifeq|ifneq|ifdef|ifndef)\s+(.*)$/.exec(line.trim());
    if (!m) return false;
    const [, kw, rest] = m as unknown as [string, string, string];
    if (kw === 'ifdef' || kw === 'ifndef') {
      const name = this.expand(rest).trim();
      const defined = this.get(name) !== '';
      return kw === 'ifdef' ? defined : !defined;
    }
    let a: string;
    let b: string;
    const paren = /^\((.*)\)$/.exec(rest.trim());
    if (paren) {
      const parts = splitArgs(paren[1]!);
      a = parts[0] ?? '';
      b = parts.slice(1).join(',');
    } else {
      const q = rest.match(/"[^"]*"|'[^']*'/g) ?? [];
      a = (q[0] ?? '').slice(1, -1);
      b = (q[1] ?? '').slice(1, -1);
    }
    const eq = this.expand(a).trim() === this.expand(b).trim();
    return kw === 'ifeq' ? eq : !eq;
  }

  expand(text: string, args: string[] = []): string {
    let out = '';
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (c !== '$') {
        out += c;
        continue;
      }
      const n = text[i + 1];
      if (n === '$') {
        out += '$';
        i++;
        continue;
      }
      if (n === '(' || n === '{') {
        const close = n === '(' ? ')' : '}';
        let depth = 0;
        let j = i + 1;
        for (; j < text.length; j++) {
          if (text[j] === n) depth++;
          else if (text[j] === close && --depth === 0) break;
        }
        out += this.ref(text.slice(i + 2, j), args);
        i = j;
        continue;
      }
      if (n !== undefined) {
        out += /\d/.test(n) ? (args[Number(n) - 1] ?? '') : this.get(n);
        i++;
      }
    }
    return out;
  }

  private ref(inner: string, args: string[]): string {
    const fm = /^([a-z-]+)[ \t]+([\s\S]*)$/.exec(inner);
    if (!fm) {
      if (/^\d+$/.test(inner)) return args[Number(inner) - 1] ?? '';
      const sub = /^([^:]+):([^=]*)=(.*)$/.exec(inner);
      if (sub) {
        const [, v, from, to] = sub as unknown as [string, string, string, string];
        return this.get(this.expand(v, args))
          .split(/\s+/)
          .map((w) => (w.endsWith(from) ? w.slice(0, w.length - from.length) + to : w))
          .join(' ');
      }
      return this.get(this.expand(inner, args));
    }
    const fn = fm[1]!;
    const rawArgs = splitArgs(fm[2]!);
    const a = (k: number): string => this.expand(rawArgs[k] ?? '', args);
    switch (fn) {
      case 'if':
        return a(0).trim() !== '' ? a(1) : a(2);
      case 'or':
        for (let k = 0; k < rawArgs.length; k++) if (a(k).trim() !== '') return a(k);
        return '';
      case 'and': {
        let last = '';
        for (let k = 0; k < rawArgs.length; k++) {
          last = a(k);
          if (last.trim() === '') return '';
        }
        return last;
      }
      case 'strip':
        return a(0).trim().replace(/\s+/g, ' ');
      case 'subst':
        return a(2).split(a(0)).join(a(1));
      case 'patsubst':
        return words(a(2))
          .map((w) => patsubst(a(0), a(1), w))
          .join(' ');
      case 'filter':
        return words(a(1))
          .filter((w) => words(a(0)).some((p) => patmatch(p, w)))
          .join(' ');
      case 'filter-out':
        return words(a(1))
          .filter((w) => !words(a(0)).some((p) => patmatch(p, w)))
          .join(' ');
      case 'findstring':
        return a(1).includes(a(0)) ? a(0) : '';
      case 'addprefix':
        return words(a(1))
          .map((w) => a(0) + w)
          .join(' ');
      case 'addsuffix':
        return words(a(1))
          .map((w) => w + a(0))
          .join(' ');
      case 'firstword':
        return words(a(0))[0] ?? '';
      case 'lastword':
        return words(a(0)).slice(-1)[0] ?? '';
      case 'word':
        return words(a(1))[Number(a(0)) - 1] ?? '';
      case 'notdir':
        return words(a(0))
          .map((w) => w.slice(w.lastIndexOf('/') + 1))
          .join(' ');
      case 'dir':
        return words(a(0))
          .map((w) => (w.includes('/') ? w.slice(0, w.lastIndexOf('/') + 1) : './'))
          .join(' ');
      case 'basename':
        return words(a(0))
          .map((w) => {
            const dot = w.lastIndexOf('.');
            return dot > w.lastIndexOf('/') ? w.slice(0, dot) : w;
          })
          .join(' ');
      case 'suffix':
        return words(a(0))
          .map((w) => {
            const dot = w.lastIndexOf('.');
            return dot > w.lastIndexOf('/') ? w.slice(dot) : '';
          })
          .filter((x) => x !== '')
          .join(' ');
      case 'foreach': {
        const v = a(0).trim();
        const saved = this.vars.get(v);
        const out = words(a(1)).map((w) => {
          this.vars.set(v, { value: w, recursive: false });
          return this.expand(rawArgs[2] ?? '', args);
        });
        if (saved) this.vars.set(v, saved);
        else this.vars.delete(v);
        return out.join(' ');
      }
      case 'words':
        return String(words(a(0)).length);
      case 'sort':
        return [...new Set(words(a(0)))].sort().join(' ');
      case 'wildcard':
        return words(a(0))
          .filter((w) => !w.includes('*') && this.fs.exists(w.replace(/^\.\//, '')))
          .join(' ');
      case 'call':
        return this.call(a(0).trim(), rawArgs.slice(1).map((x) => this.expand(x, args)));
      case 'shell':
        return '';
      case 'error':
      case 'warning':
      case 'info':
      case 'eval':
        return '';
      default:
        return this.get(this.expand(inner, args));
    }
  }

  private call(name: string, args: string[]): string {
    const tc = this.toolchain;
    switch (name) {
      case 'cc-option':
        return tc.ccOption(args[0]!.trim()) ? args[0]!.trim() : (args[1] ?? '').trim();
      case 'cc-option-yn':
        return tc.ccOption(args[0]!.trim()) ? 'y' : 'n';
      case 'cc-disable-warning':
        return tc.ccOption(`-W${args[0]!.trim()}`) ? `-Wno-${args[0]!.trim()}` : '';
      case 'as-option':
        return tc.ccOption(args[0]!.trim()) ? args[0]!.trim() : (args[1] ?? '').trim();
      case 'as-instr':
        return tc.asInstr(args[0]!) ? (args[1] ?? '').trim() : (args[2] ?? '').trim();
      case 'ld-option':
        return tc.ldOption(args[0]!.trim()) ? args[0]!.trim() : (args[1] ?? '').trim();
      case 'rustc-option':
        return '';
    }
    const v = this.vars.get(name);
    if (!v) return '';
    return this.expand(v.value, args);
  }
}

function stripComment(line: string): string {
  let depth = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '(' || c === '{') depth++;
    else if (c === ')' || c === '}') depth--;
    else if (c === '#' && depth <= 0) return line.slice(0, i);
  }
  return line;
}

function splitArgs(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of s) {
    if (c === '(' || c === '{') depth++;
    else if (c === ')' || c === '}') depth--;
    if (c === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function words(s: string): string[] {
  return s.split(/\s+/).filter((w) => w !== '');
}

function patmatch(pat: string, w: string): boolean {
  const i = pat.indexOf('%');
  if (i < 0) return pat === w;
  return w.startsWith(pat.slice(0, i)) && w.endsWith(pat.slice(i + 1)) && w.length >= pat.length - 1;
}

function patsubst(pat: string, rep: string, w: string): string {
  const i = pat.indexOf('%');
  if (i < 0) return pat === w ? rep : w;
  if (!patmatch(pat, w)) return w;
  const stem = w.slice(i, w.length - (pat.length - i - 1));
  return rep.replace('%', stem);
}

/**
 * Reads the flags for assembling `file` (tree-relative) in an in-tree
 * `make ARCH=x86_64` build with the given configuration.
 */
export function kbuildFlags(fs: ReadonlyFs, config: Map<string, string>, toolchain: Toolchain, file: string): KbuildFlags {
  // The state of Kbuild's sub-make for an in-tree build (the top Makefile re-invokes
  // itself once with --no-print-directory and sub_make_done=1).
  const top = { ARCH: 'x86_64', srctree: '.', objtree: '.', CC: 'gcc', LD: 'ld', sub_make_done: '1', MAKEFLAGS: '--no-print-directory', CURDIR: '/build', abs_srctree: '/build', abs_objtree: '/build' };
  const mk = new MakeReader(fs, toolchain, config, top);
  mk.read('Makefile');
  if (mk.get('LINUXINCLUDE').trim() === '') {
    throw new SeamlabError('KBUILD_FLAGS_UNREADABLE', 'could not find LINUXINCLUDE in the top Makefile', "seamlab reads the include paths from the tree's Makefile; check the tree", { notes: mk.notes });
  }
  // scripts/Makefile.build then runs for the object's directory with the
  // exported variables: it reads Kbuild.include, the directory's Makefile
  // and scripts/Makefile.lib, which defines a_flags.
  const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '.';
  const obj = `${file.replace(/\.S$/, '')}.o`;
  const build = new MakeReader(fs, toolchain, config, { ...top, obj: dir, src: dir, '@': obj, depfile: `${dir}/.${obj.slice(dir.length + 1)}.d` });
  for (const name of ['NOSTDINC_FLAGS', 'LINUXINCLUDE', 'KBUILD_CPPFLAGS', 'KBUILD_AFLAGS', 'KBUILD_AFLAGS_KERNEL', 'AFLAGS_KERNEL']) build.vars.set(name, { value: mk.get(name), recursive: false });
  build.read('scripts/Kbuild.include');
  if (fs.exists(`${dir}/Makefile`)) build.read(`${dir}/Makefile`);
  else if (fs.exists(`${dir}/Kbuild`)) build.read(`${dir}/Kbuild`);
  build.read('scripts/Makefile.lib');
  let aflags = build.get('a_flags');
  if (aflags.trim() === '') {
    build.notes.push('scripts/Makefile.lib has no a_flags; using NOSTDINC_FLAGS LINUXINCLUDE KBUILD_CPPFLAGS KBUILD_AFLAGS');
    aflags = [mk.get('NOSTDINC_FLAGS'), mk.get('LINUXINCLUDE'), mk.get('KBUILD_CPPFLAGS'), mk.get('KBUILD_AFLAGS')].join(' ');
  }
  const toks = shellWords(aflags);
  const r: KbuildFlags = { includeDirs: [], forcedIncludes: [], defineLines: [], defineFlags: [], macroPrefixMap: [], nostdinc: false, argv: [], notes: [...mk.notes, ...build.notes] };
  let m64 = false;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t === '-I' || t === '-include') {
      const v = toks[++i]!;
      if (t === '-I') r.includeDirs.push(v);
      else r.forcedIncludes.push(v);
      r.argv.push(t, v);
    } else if (t.startsWith('-I')) {
      r.includeDirs.push(t.slice(2));
      r.argv.push(t);
    } else if (t.startsWith('-D')) {
      const body = t.slice(2);
      const eq = body.indexOf('=');
      r.defineLines.push(eq < 0 ? `#define ${body} 1` : `#define ${body.slice(0, eq)} ${body.slice(eq + 1)}`);
      r.defineFlags.push(t);
      r.argv.push(t);
    } else if (t.startsWith('-U')) {
      r.defineLines.push(`#undef ${t.slice(2)}`);
      r.defineFlags.push(t);
      r.argv.push(t);
    } else if (t === '-nostdinc') {
      r.nostdinc = true;
      r.argv.push(t);
    } else if (t.startsWith('-fmacro-prefix-map=') || t.startsWith('-ffile-prefix-map=')) {
      const v = t.slice(t.indexOf('=') + 1);
      const eq = v.indexOf('=');
      r.macroPrefixMap.push([v.slice(0, eq), v.slice(eq + 1)]);
      r.argv.push(t);
    } else if (t === '-m64' || t === '-m32' || t === '-fno-PIE' || t === '-fPIE' || t === '-fno-pie') {
      if (t === '-m64') m64 = true;
      if (t === '-m32') m64 = false;
      r.argv.push(t);
    }
  }
  if (!m64) {
    throw new SeamlabError('KBUILD_NOT_X86_64', "the tree's Makefiles do not assemble for x86-64 (-m64) with this configuration", 'use a profile or .config with CONFIG_64BIT=y', { notes: r.notes });
  }
  return r;
}

/** Splits a command line the way /bin/sh would for the words Kbuild produces (quotes removed). */
export function shellWords(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let have = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "'") {
      const j = s.indexOf("'", i + 1);
      cur += s.slice(i + 1, j < 0 ? s.length : j);
      i = j < 0 ? s.length : j;
      have = true;
    } else if (c === '"') {
      let j = i + 1;
      while (j < s.length && s[j] !== '"') {
        if (s[j] === '\\' && j + 1 < s.length) j++;
        cur += s[j];
        j++;
      }
      i = j;
      have = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      have = true;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (have) out.push(cur);
      cur = '';
      have = false;
    } else {
      cur += c;
      have = true;
    }
  }
  if (have) out.push(cur);
  return out;
}
