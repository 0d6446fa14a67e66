/**
 * The data an HTML page of seamlab's is drawn from, as embedded in the page
 * (JSON in a `<script type="application/json">`). Shared by the Node side
 * that builds it (src/report/trace-explorer.ts) and the browser code that
 * draws it (src/report/html/page/): types only, nothing that needs Node or
 * a DOM.
 */
import type { DiffReport } from '../../diff/report.js';
import type { Trace } from '../../trace/format.js';

/** Which page script draws the data. */
export type PageKind = 'trace' | 'diff';

/**
 * One row of the source view: a line of a file, or — under a line that
 * invokes a GAS macro or opens a repetition — one statement of its
 * expansion (as the debugger's `list` shows it).
 */
export interface SourceRow {
  /** 'line': a line of the file; 'stmt': a statement of an expansion; 'invocation': a nested macro/repetition invocation inside an expansion. */
  kind: 'line' | 'stmt' | 'invocation';
  /** 0 for the file's own lines; 1 + nesting for expansion rows. */
  depth: number;
  /** Index of the row this one folds under (expansion rows), else -1. */
  parent: number;
  /** Where the text is written: "arch/x86/virt/vmx/tdx/tdxcall.S:28". */
  pos: string;
  /** 1-based line number in its file. */
  line: number;
  /** The source line as written in the revision's file (tabs kept), or the statement when the file is not at hand. */
  text: string;
  /** The statement as assembled (after cpp and macro substitution), when it reads differently from the line. */
  stmt?: string;
  /** Address of the statement's bytes ("0xffffffff81000004"), for statements that produced code. */
  address?: string;
  /** True for lines and statements that produced code (directly or through their expansion). */
  code: boolean;
  /** True when the row invokes an expansion whose rows follow it (foldable). */
  expands: boolean;
  /** Instructions the trace executed from this row (its expansion included). */
  hits: number;
}

/** One file shown in the source view: its rows are `rows[first..first+count)` of the page's row list. */
export interface SourceFileView {
  path: string;
  first: number;
  count: number;
}

export interface TraceExplorerData {
  page: 'trace';
  /** The trace, exactly as recorded (the seamlab-trace format). */
  trace: Trace;
  files: SourceFileView[];
  rows: SourceRow[];
  /** For each step: the row of its statement (an expansion row, or the line it is written on), -1 when outside the listing. */
  stepRow: number[];
  /** For each step: the row of the function file's line it belongs to (its outermost invocation), -1 when none. */
  stepLine: number[];
}

export interface DiffPageData {
  page: 'diff';
  /** The report, exactly as `seamlab diff --json` prints it (format seamlab-diff). */
  report: DiffReport;
  /**
   * Per pair: its differences shown together (same observation and value
   * classes on both sides, as the text report groups them), as indexes into
   * `pairs[i].differences`, unexpected groups first.
   */
  groups: number[][][];
}
