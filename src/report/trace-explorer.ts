/**
 * The data of the HTML trace explorer (`seamlab trace --format html`): the
 * trace as recorded, plus the source view it is scrubbed against — the
 * function's file line by line, and under each line that invokes a GAS
 * macro (or opens a repetition) the statements its expansion produced, as
 * the build's listing has them (the debugger's `list` shows the same) —
 * and, for each step, the row of its statement and the row of the line of
 * the function's file it belongs to. Hit counts are counted here, once.
 *
 * Plain data in, plain data out: the trace, the build's listing and a way
 * to read the revision's files. src/report/html/document.ts wraps the
 * result into the self-contained page.
 */
import type { Listing, ListingEntry } from '../image/listing.js';
import { hexU64 } from '../support/format.js';
import type { GasFrame } from '../support/source-location.js';
import { stackKey } from '../debug/lines.js';
import type { Trace } from '../trace/format.js';
import { renderHtmlPage } from './html/document.js';
import type { SourceFileView, SourceRow, TraceExplorerData } from './html/model.js';

/** Where the source view's text comes from: the listing of the build that ran, and the revision's files. */
export interface TraceSourceContext {
  listing: Listing;
  readFile(path: string): string | undefined;
}

const posKey = (file: string, line: number) => `${file}:${line}`;

/** The line of the function's file a statement belongs to: its outermost invocation, or where it is written. */
function outerPos(e: ListingEntry): { file: string; line: number } {
  const st = e.origin.gasStack;
  return st.length ? st[st.length - 1]!.invokedAt : e.origin.pos;
}

/** A statement that put code into the image (an instruction, or `.byte` data decoded as one). */
function isCode(e: ListingEntry): boolean {
  return e.address !== undefined && e.size > 0 && (e.bytes === 'insn' || e.bytes === 'data');
}

/** The statements shown under an invocation: instructions, labels, data and nested invocations (not bare directives). */
function shownInExpansion(e: ListingEntry): boolean {
  if (e.origin.gasStack.length === 0) return false;
  return e.kind === 'insn' || e.kind === 'label' || e.kind === 'macro' || e.kind === 'rept' || e.size > 0;
}

/** Text with comments dropped and blanks squeezed, to tell whether a statement reads like its line. */
function normalized(s: string): string {
  return s.replace(/\/\*.*?\*\//g, ' ').replace(/(^|\s)#.*$/, '').replace(/\s*,\s*/g, ',').replace(/\s+/g, ' ').trim();
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Key of the invocation statement that opened frame `stack[0]` (its position and the expansions around it). */
function invocationKey(pos: { file: string; line: number }, around: readonly GasFrame[]): string {
  return `${posKey(pos.file, pos.line)}|${stackKey(around)}`;
}

export function traceExplorerModel(trace: Trace, ctx: TraceSourceContext): TraceExplorerData {
  const texts = new Map<string, string[] | undefined>();
  const linesOf = (file: string): string[] | undefined => {
    if (!texts.has(file)) {
      const t = ctx.readFile(file);
      texts.set(file, t === undefined ? undefined : splitLines(t));
    }
    return texts.get(file);
  };

  // Listing entries by the line of the top-level file they belong to.
  const direct = new Map<string, ListingEntry[]>();
  const expansions = new Map<string, ListingEntry[]>();
  const codeEntries: ListingEntry[] = [];
  for (const e of ctx.listing) {
    if (e.kind === 'function') continue;
    const o = outerPos(e);
    const key = posKey(o.file, o.line);
    if (e.origin.gasStack.length === 0) {
      if (isCode(e)) (direct.get(key) ?? direct.set(key, []).get(key)!).push(e);
    } else if (shownInExpansion(e)) {
      (expansions.get(key) ?? expansions.set(key, []).get(key)!).push(e);
    }
    if (isCode(e)) codeEntries.push(e);
  }
  codeEntries.sort((a, b) => (a.address! < b.address! ? -1 : a.address! > b.address! ? 1 : 0));
  const entryAt = (address: bigint): ListingEntry | undefined => {
    let lo = 0;
    let hi = codeEntries.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = codeEntries[mid]!;
      if (address < e.address!) hi = mid - 1;
      else if (address >= e.address! + BigInt(e.size)) lo = mid + 1;
      else return e;
    }
    return undefined;
  };

  // The files shown: the function's, then any other whose lines the trace ran outside every macro (in order of first use).
  const shownFiles = [trace.header.sourceFile];
  for (const s of trace.steps) {
    const e = entryAt(BigInt(s.rip));
    if (e && !shownFiles.includes(outerPos(e).file)) shownFiles.push(outerPos(e).file);
  }

  const rows: SourceRow[] = [];
  const files: SourceFileView[] = [];
  const rowOfEntry = new Map<ListingEntry, number>();
  for (const file of shownFiles) {
    const first = rows.length;
    const own = linesOf(file) ?? [];
    // Lines the listing knows beyond the text (a file that could not be read) still get rows.
    let count = own.length;
    for (const key of [...direct.keys(), ...expansions.keys()]) {
      if (key.startsWith(`${file}:`)) count = Math.max(count, Number(key.slice(file.length + 1)));
    }
    for (let n = 1; n <= count; n++) {
      const key = posKey(file, n);
      const lineRow = rows.length;
      const text = own[n - 1] ?? '';
      const code = direct.get(key) ?? [];
      const stmts = code.map((e) => e.origin.text).join('; ');
      rows.push({
        kind: 'line', depth: 0, parent: -1, pos: key, line: n, text,
        ...(code.length && normalized(stmts) !== normalized(text) ? { stmt: stmts } : {}),
        code: code.length > 0, expands: false, hits: 0,
      });
      for (const e of code) rowOfEntry.set(e, lineRow);
      const expansion = expansions.get(key);
      if (!expansion) continue;
      rows[lineRow]!.expands = true;
      const invocations = new Map<string, number>();
      for (const e of expansion) {
        const stack = e.origin.gasStack;
        const parent = stack.length > 1 ? invocations.get(invocationKey(stack[0]!.invokedAt, stack.slice(1))) ?? lineRow : lineRow;
        const raw = linesOf(e.origin.pos.file)?.[e.origin.pos.line - 1];
        const shown = raw === undefined ? e.origin.text : raw.trim();
        const row: SourceRow = {
          kind: e.kind === 'macro' || e.kind === 'rept' ? 'invocation' : 'stmt',
          depth: stack.length, parent, pos: posKey(e.origin.pos.file, e.origin.pos.line), line: e.origin.pos.line, text: shown,
          ...(normalized(e.origin.text) !== normalized(shown) ? { stmt: e.origin.text } : {}),
          ...(isCode(e) ? { address: hexU64(e.address!) } : {}),
          code: isCode(e), expands: false, hits: 0,
        };
        if (row.kind === 'invocation') invocations.set(invocationKey(e.origin.pos, stack), rows.length);
        if (isCode(e)) rowOfEntry.set(e, rows.length);
        rows[parent]!.expands = true;
        rows.push(row);
      }
    }
    files.push({ path: file, first, count: rows.length - first });
  }

  // Code and hits count for a row and every row it folds under.
  const lineOf = (row: number): number => {
    let r = row;
    while (r >= 0 && rows[r]!.depth > 0) r = rows[r]!.parent;
    return r;
  };
  for (let r = 0; r < rows.length; r++) {
    if (!rows[r]!.code) continue;
    for (let p = rows[r]!.parent; p >= 0; p = rows[p]!.parent) rows[p]!.code = true;
  }
  const stepRow = trace.steps.map((s) => {
    const e = entryAt(BigInt(s.rip));
    return e ? rowOfEntry.get(e) ?? -1 : -1;
  });
  for (const r of stepRow) {
    for (let p = r; p >= 0; p = rows[p]!.parent) rows[p]!.hits++;
  }
  const stepLine = stepRow.map((r) => (r < 0 ? -1 : lineOf(r)));
  return { page: 'trace', trace, files, rows, stepRow, stepLine };
}

/** The trace explorer as one self-contained HTML file. */
export function renderTraceExplorer(trace: Trace, ctx: TraceSourceContext): string {
  const h = trace.header;
  return renderHtmlPage({ kind: 'trace', title: `${h.function} · ${h.revision.spec} · ${h.scenario.name} — seamlab trace`, data: traceExplorerModel(trace, ctx) });
}
