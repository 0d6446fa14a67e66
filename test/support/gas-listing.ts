/**
 * The line → address oracle: GNU as's own listing (`as -alm`) of a kernel
 * file preprocessed by gcc with line markers (`gcc -E` without -P), read
 * back into "which bytes came from which source line".
 *
 * In an `-alm` listing every line of a macro expansion is listed under the
 * invocation's line number, indented with one `>` per expansion level, in
 * the order of the macro's body — except that line markers (`# 52 "f.S"`)
 * are not listed and `;` starts a new listed line. So the k-th depth-1 line
 * of an expansion is the k-th statement of the body, and gcc's line markers
 * say which source line that body line is. Deeper lines are the expansion
 * of a macro the body line invokes.
 *
 * Nothing here comes from seamlab: preprocessing is gcc's, positions are
 * gcc's markers, addresses are GNU as's section offsets placed where GNU ld
 * puts the sections (image-oracle.ts's link).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CppEnvironment } from '../../src/kbuild/environment.js';
import { gccTree } from '../../src/cpp/index.js';

export interface LogicalPos {
  file: string;
  line: number;
}

/** gcc -E with line markers for one file of an environment. */
export function gccPreprocessWithMarkers(env: CppEnvironment, file: string): string {
  const tree = gccTree(env, [file]);
  try {
    const argv = tree.argv(file).filter((a) => a !== '-P');
    const g = spawnSync('gcc', argv, { cwd: tree.cwd, encoding: 'utf8', env: { ...process.env, ...tree.env }, maxBuffer: 64 << 20 });
    if (g.status !== 0) throw new Error(`gcc -E ${file} failed:\n${g.stderr}`);
    return g.stdout;
  } finally {
    tree.cleanup();
  }
}

const MARKER = /^# (\d+) "((?:[^"\\]|\\.)*)"/;

/** For each physical line (1-based index) of gcc -E output: the source position gcc's markers give it, or undefined for a marker line. */
export function logicalLines(text: string): (LogicalPos | undefined)[] {
  const out: (LogicalPos | undefined)[] = [undefined];
  let file = '';
  let line = 1;
  for (const l of text.split('\n')) {
    const m = MARKER.exec(l);
    if (m) {
      out.push(undefined);
      file = m[2]!;
      line = Number(m[1]);
      continue;
    }
    out.push({ file, line });
    line++;
  }
  return out;
}

export interface ListingLine {
  /** Physical line of the input the listed line belongs to (the invocation's, inside an expansion). */
  line: number;
  /** Offset in the current section, when the line produced bytes. */
  offset?: number;
  bytes: Uint8Array;
  /** Expansion depth (number of `>`). */
  depth: number;
  text: string;
}

/** Assembles `text` with `as -alm` and reads the listing (byte continuation lines merged). */
export function gnuListing(text: string): ListingLine[] {
  const dir = mkdtempSync(join(tmpdir(), 'seamlab-listing-'));
  try {
    const src = join(dir, 'in.s');
    writeFileSync(src, text.endsWith('\n') ? text : text + '\n');
    const r = spawnSync('as', ['--64', '-almn', '--listing-lhs-width=4', '--listing-cont-lines=100000', '--listing-rhs-width=100000', '-o', join(dir, 'in.o'), src], { encoding: 'utf8', maxBuffer: 256 << 20 });
    if (r.status !== 0) throw new Error(`as failed:\n${r.stderr}`);
    const out: ListingLine[] = [];
    for (const raw of r.stdout.split('\n')) {
      const tab = raw.indexOf('\t');
      if (tab < 0) continue;
      const head = /^\s*(\d+)(?: ([0-9a-f]{4,}))?((?: [0-9A-F]+)*)\s*$/.exec(raw.slice(0, tab));
      if (!head) continue;
      const hex = head[3]!.replace(/\s+/g, '');
      const bytes = Uint8Array.from(Buffer.from(hex, 'hex'));
      const body = raw.slice(tab + 1);
      const depth = /^>*/.exec(body)![0].length;
      const entry: ListingLine = { line: Number(head[1]), bytes, depth, text: body.slice(depth) };
      if (head[2] !== undefined) entry.offset = parseInt(head[2], 16);
      const prev = out[out.length - 1];
      if (head[2] === undefined && bytes.length > 0 && entry.text === '' && prev) {
        // A continuation of the previous line's bytes.
        prev.bytes = Uint8Array.from([...prev.bytes, ...bytes]);
        continue;
      }
      out.push(entry);
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Splits a physical line into the statements GNU as lists separately (`;` outside strings). */
function statements(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote && c === '\\') {
      cur += c + (line[++i] ?? '');
      continue;
    }
    if (c === '"') quote = !quote;
    if (c === ';' && !quote) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** Evaluates a `.if` operand after argument substitution (numbers, parentheses, ! && || == !=). */
function ifValue(expr: string): boolean {
  if (!/^[0-9\s()!&|=<>+-]*$/.test(expr)) throw new Error(`oracle: cannot evaluate .if ${expr}`);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the check above lets only digits, blanks, parentheses and operators through
  return Boolean((new Function(`return (${expr});`) as () => unknown)());
}

export interface OracleBytes {
  /** Source line of the body statement (gcc's markers). */
  at: LogicalPos;
  /** 'line': the statement itself produced the bytes; 'expansion': a macro the statement invokes did. */
  via: 'line' | 'expansion';
  section: string;
  offset: number;
  size: number;
  /** Source line of the invocation of the macro whose expansion this is. */
  invokedAt: LogicalPos;
}

/**
 * For every expansion of `.macro name` at the top level of the listing:
 * which bytes each body line produced, with the section they are in.
 * Sections are followed through .text/.data/.section/.pushsection/
 * .popsection/.previous in statements outside macro definitions; a top-level
 * expansion of another macro that switches sections is refused (the parser
 * would lose track).
 */
export function macroBodyBytes(text: string, name: string): OracleBytes[] {
  const physical = text.split('\n');
  const logical = logicalLines(text);
  // Physical ranges of .macro … .endm definitions (not executed where they are written).
  const definitions: { start: number; end: number; name: string }[] = [];
  for (let i = 0, open = -1, openName = '', depth = 0; i < physical.length; i++) {
    const t = physical[i]!.trim();
    const m = /^\.macro\s+([A-Za-z_.$][\w.$]*)/.exec(t);
    if (m) {
      if (depth++ === 0) [open, openName] = [i + 1, m[1]!];
    } else if (/^\.endm\b/.test(t) && --depth === 0) definitions.push({ start: open, end: i + 1, name: openName });
  }
  const def = definitions.find((d) => d.name === name);
  if (!def) throw new Error(`oracle: no .macro ${name}`);
  // The listed body lines, in order, with the source line each comes from.
  const body: LogicalPos[] = [];
  for (let p = def.start + 1; p < def.end; p++) {
    const pos = logical[p];
    if (!pos) continue; // a line marker: not listed
    for (const _ of statements(physical[p - 1]!)) body.push(pos);
  }
  const inDefinition = (line: number) => definitions.some((d) => line >= d.start && line <= d.end);

  const out: OracleBytes[] = [];
  const stack: string[] = [];
  let current = '.text';
  let previous = '.text';
  const switchSection = (stmt: string) => {
    const t = stmt.trim();
    let m: RegExpExecArray | null;
    const nameOf = (s: string) => s.trim().split(',')[0]!.trim().replace(/^"(.*)"$/, '$1');
    if (/^\.text\b/.test(t)) [previous, current] = [current, '.text'];
    else if (/^\.data\b/.test(t)) [previous, current] = [current, '.data'];
    else if (/^\.bss\b/.test(t)) [previous, current] = [current, '.bss'];
    else if ((m = /^\.section\s+(.*)$/.exec(t))) [previous, current] = [current, nameOf(m[1]!)];
    else if ((m = /^\.pushsection\s+(.*)$/.exec(t))) {
      stack.push(current, previous);
      [previous, current] = [current, nameOf(m[1]!)];
    } else if (/^\.popsection\b/.test(t)) {
      previous = stack.pop()!;
      current = stack.pop()!;
    } else if (/^\.previous\b/.test(t)) [previous, current] = [current, previous];
  };

  const listing = gnuListing(text);
  for (let i = 0; i < listing.length; i++) {
    const l = listing[i]!;
    if (l.depth > 0) throw new Error(`oracle: a top-level expansion the parser does not follow (listing line ${l.line}: ${l.text})`);
    if (inDefinition(l.line)) continue;
    const isInvocation = new RegExp(`^\\s*${name.replace(/[.$]/g, '\\$&')}(\\s|$)`).test(l.text);
    if (!isInvocation) {
      for (const s of statements(l.text)) switchSection(s);
      continue;
    }
    const invokedAt = logical[l.line]!;
    // The expansion: the following lines deeper than 0.
    let k = -1;
    const conds: boolean[] = [];
    const active = () => conds.every(Boolean);
    for (i++; i < listing.length && listing[i]!.depth > 0; i++) {
      const e = listing[i]!;
      if (e.depth === 1) {
        k++;
        const t = e.text.trim();
        let m: RegExpExecArray | null;
        if ((m = /^\.if\s+(.*)$/.exec(t))) conds.push(active() && ifValue(m[1]!));
        else if (/^\.else\b/.test(t)) conds.push(!conds.pop()! && conds.every(Boolean));
        else if (/^\.endif\b/.test(t)) conds.pop();
        else if (active()) switchSection(t);
      } else if (/^\s*\.(push|pop)?section\b|^\s*\.(text|data|previous)\b/.test(e.text)) {
        throw new Error(`oracle: a nested expansion switches sections (${e.text})`);
      }
      if (e.bytes.length === 0) continue;
      if (e.offset === undefined) throw new Error(`oracle: bytes without an offset (${e.text})`);
      const at = body[k];
      if (!at) throw new Error(`oracle: expansion of ${name} has more lines than its body`);
      out.push({ at, via: e.depth === 1 ? 'line' : 'expansion', section: current, offset: e.offset, size: e.bytes.length, invokedAt });
    }
    if (k + 1 !== body.length) throw new Error(`oracle: expansion of ${name} at line ${l.line} lists ${k + 1} body lines, the definition has ${body.length}`);
    i--;
  }
  return out;
}
