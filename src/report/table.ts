/**
 * Text tables for every report: columns padded to a common start, fitted
 * to a width when one is given (a terminal), full width otherwise (a pipe,
 * or `--wide`).
 *
 * Fitting never misaligns: a cell wider than its column wraps onto
 * continuation lines inside the same column (at spaces, or mid-word with a
 * `…` marker at the break), so every column starts at the same offset on
 * every line. Columns shrink widest-first, never below their minimum (the
 * header, or `minWidth`); when even the minimums do not fit, the table is
 * wider than asked rather than misaligned.
 */

export interface TableColumn {
  header: string;
  /** Never narrower than this (default: the header's length, at least 4). */
  minWidth?: number;
}

export interface TableOptions {
  /** Fit every line into this many columns; undefined = full width. */
  width?: number;
  /** Prefix of every line (counts towards the width). */
  indent?: string;
  /** Spaces between columns. */
  gap?: number;
}

/** The marker at a mid-word break. */
export const WRAP_MARKER = '…';

/** Display width: one column per code point (the reports use only single-width characters). */
export function displayWidth(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function padTo(s: string, n: number): string {
  const w = displayWidth(s);
  return w >= n ? s : s + ' '.repeat(n - w);
}

/** Splits a cell into lines of at most `width` columns: at spaces where possible, mid-word with the marker. */
export function wrapCell(text: string, width: number): string[] {
  if (displayWidth(text) <= width) return [text];
  const w = Math.max(2, width);
  const out: string[] = [];
  let line = '';
  const flush = () => {
    out.push(line);
    line = '';
  };
  for (const word of text.split(' ')) {
    const sep = line === '' ? '' : ' ';
    if (displayWidth(line) + sep.length + displayWidth(word) <= w) {
      line += sep + word;
      continue;
    }
    if (line !== '') flush();
    let rest = [...word];
    while (rest.length > w) {
      out.push(rest.slice(0, w - 1).join('') + WRAP_MARKER);
      rest = rest.slice(w - 1);
    }
    line = rest.join('');
  }
  if (line !== '' || out.length === 0) flush();
  return out;
}

/** Column widths that fit `available` (the sum of widths, gaps excluded), shrinking the widest first. */
export function fitWidths(natural: number[], minimum: number[], available: number): number[] {
  const widths = natural.map((n, i) => Math.max(n, minimum[i]!));
  let excess = widths.reduce((a, b) => a + b, 0) - available;
  while (excess > 0) {
    // The widest column that can still shrink gives up columns down to the next widest.
    let widest = -1;
    for (let i = 0; i < widths.length; i++) {
      if (widths[i]! > minimum[i]! && (widest < 0 || widths[i]! > widths[widest]!)) widest = i;
    }
    if (widest < 0) break;
    const next = Math.max(minimum[widest]!, ...widths.map((w, i) => (i === widest ? 0 : w)).filter((w) => w < widths[widest]!));
    const cut = Math.max(1, Math.min(excess, widths[widest]! - next));
    widths[widest] = Math.max(minimum[widest]!, widths[widest]! - cut);
    excess -= cut;
  }
  return widths;
}

/** Renders a table: a header line and one (or, wrapped, several) lines per row. */
export function renderTable(columns: TableColumn[], rows: string[][], opts: TableOptions = {}): string[] {
  const indent = opts.indent ?? '';
  const gap = opts.gap ?? 2;
  const head = columns.map((c) => c.header);
  const natural = columns.map((c, i) => Math.max(displayWidth(c.header), ...rows.map((r) => displayWidth(r[i] ?? ''))));
  const minimum = columns.map((c, i) => Math.min(natural[i]!, c.minWidth ?? Math.max(4, displayWidth(c.header))));
  const widths = opts.width === undefined
    ? natural
    : fitWidths(natural, minimum, opts.width - displayWidth(indent) - gap * (columns.length - 1));
  const lines: string[] = [];
  const emit = (cells: string[]) => {
    const wrapped = cells.map((c, i) => wrapCell(c, widths[i]!));
    const height = Math.max(...wrapped.map((w) => w.length));
    for (let k = 0; k < height; k++) {
      const parts = wrapped.map((w, i) => (i === wrapped.length - 1 ? w[k] ?? '' : padTo(w[k] ?? '', widths[i]!)));
      lines.push((indent + parts.join(' '.repeat(gap))).trimEnd());
    }
  };
  emit(head);
  for (const r of rows) emit(columns.map((_, i) => r[i] ?? ''));
  return lines;
}

/**
 * Fits descriptive text (not a table: `revisions`, `build`, `profiles`) to
 * `width`: a longer line wraps at spaces, its continuation lines indented
 * two columns deeper than the line itself, so what belongs together stays
 * visibly together. No width (piped output, `--wide`): lines unchanged.
 */
export function fitLines(lines: readonly string[], width: number | undefined): string[] {
  if (width === undefined) return [...lines];
  const out: string[] = [];
  for (const line of lines) {
    if (displayWidth(line) <= width) {
      out.push(line);
      continue;
    }
    const indent = /^ */.exec(line)![0];
    // A line already indented most of the width wraps at a smaller indent rather than one word per line.
    const hang = ' '.repeat(Math.min(indent.length + 2, Math.floor(width / 2)));
    const [first = '', ...rest] = wrapCell(line.slice(indent.length), width - indent.length);
    out.push(indent + first);
    for (const piece of wrapCell(rest.join(' '), width - hang.length)) if (piece !== '') out.push(hang + piece);
  }
  return out;
}

/** "1 run", "2 runs"; `many` for irregular plurals. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The width to fit output to: the terminal's, unless output is piped or `--wide` was given. */
export function outputWidth(stream: { isTTY?: boolean; columns?: number }, wide = false): number | undefined {
  if (wide || !stream.isTTY) return undefined;
  return stream.columns && stream.columns > 0 ? stream.columns : 80;
}

/** Descriptive text (`revisions`, `build`, `profiles`) fitted by fitLines to the width outputWidth gives for `stream`. */
export function fitTextToStream(text: string, stream: { isTTY?: boolean; columns?: number }, wide = false): string {
  return fitLines(text.split('\n'), outputWidth(stream, wide)).join('\n');
}
