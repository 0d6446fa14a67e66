/**
 * DWARF 4 debug information for an image's ELF (`seamlab build --elf`), so
 * that gdb, objdump and readelf map addresses back to the `.S` sources:
 *
 * - `.debug_line`: one row per statement that produced code, at its body
 *   line (a statement inside a `.macro` body maps to the body line, e.g.
 *   tdxcall.S:52, not the invocation), `is_stmt` on every statement start;
 *   one sequence per executable section.
 * - `.debug_info`/`.debug_abbrev`: one compile unit per image (name,
 *   comp_dir, stmt_list, its code range), a `DW_TAG_subprogram` per
 *   function, and every GAS `.macro` expansion as a
 *   `DW_TAG_inlined_subroutine` of an abstract subprogram named after the
 *   macro, with the invocation as its call site. gdb treats an expansion as
 *   an inlined call: `break tdxcall.S:NN` on a macro body line resolves to
 *   one location per expansion, `break TDX_MODULE_CALL` to every expansion's
 *   start, and `bt` shows the macro stack.
 * - `.debug_ranges` when a compile unit or an expansion is not contiguous.
 *
 * A line that only invokes a macro (seamcall.S:22 `TDX_MODULE_CALL host=1`)
 * has no row of its own: the first statement of the expansion is on its
 * body line, and gdb keeps one line per address.
 *
 * Source paths are tree-relative; `compDir` (DW_AT_comp_dir) is where gdb
 * finds them (the CLI writes the revision's sources there, see
 * src/cli/build.ts). Same image and compDir → same bytes.
 */
import type { ByteRange } from '../gas/types.js';
import type { GasFrame, SourcePos } from '../support/source-location.js';
import type { Image } from './types.js';

export interface DebugInfoOptions {
  /** Absolute directory the tree-relative source paths are relative to (DW_AT_comp_dir). */
  compDir: string;
  /** Where functions are defined (e.g. an entry point's SYM_FUNC_START), when known. */
  functions?: readonly { name: string; definedAt: SourcePos }[];
  /** DW_AT_producer. */
  producer?: string;
}

export interface DebugSection {
  name: string;
  bytes: Uint8Array;
}

export interface DebugInfo {
  sections: DebugSection[];
  /** The tree-relative source files the line table and call sites name (sorted). */
  sourceFiles: string[];
}

const DW_TAG_compile_unit = 0x11;
const DW_TAG_subprogram = 0x2e;
const DW_TAG_inlined_subroutine = 0x1d;
const DW_AT_name = 0x03;
const DW_AT_stmt_list = 0x10;
const DW_AT_low_pc = 0x11;
const DW_AT_high_pc = 0x12;
const DW_AT_language = 0x13;
const DW_AT_comp_dir = 0x1b;
const DW_AT_inline = 0x20;
const DW_AT_producer = 0x25;
const DW_AT_abstract_origin = 0x31;
const DW_AT_decl_file = 0x3a;
const DW_AT_decl_line = 0x3b;
const DW_AT_external = 0x3f;
const DW_AT_ranges = 0x55;
const DW_AT_call_file = 0x58;
const DW_AT_call_line = 0x59;
const DW_FORM_addr = 0x01;
const DW_FORM_data1 = 0x0b;
const DW_FORM_data2 = 0x05;
const DW_FORM_data8 = 0x07;
const DW_FORM_string = 0x08;
const DW_FORM_flag = 0x0c;
const DW_FORM_udata = 0x0f;
const DW_FORM_ref4 = 0x13;
const DW_FORM_sec_offset = 0x17;
const DW_LANG_Mips_Assembler = 0x8001;
const DW_INL_inlined = 1;

const DW_LNS_copy = 0x01;
const DW_LNS_advance_pc = 0x02;
const DW_LNS_advance_line = 0x03;
const DW_LNS_set_file = 0x04;
const DW_LNE_end_sequence = 0x01;
const DW_LNE_set_address = 0x02;

/** Abbreviation codes (see ABBREVS); a `…Leaf` has no children. */
const Abbrev = {
  CompileUnit: 1,
  CompileUnitRanges: 2,
  Subprogram: 3,
  SubprogramLeaf: 4,
  MacroAbstract: 5,
  Inlined: 6,
  InlinedLeaf: 7,
  InlinedRanges: 8,
  InlinedRangesLeaf: 9,
} as const;

type AttrSpec = [attribute: number, form: number];
const UNIT: AttrSpec[] = [[DW_AT_producer, DW_FORM_string], [DW_AT_language, DW_FORM_data2], [DW_AT_name, DW_FORM_string], [DW_AT_comp_dir, DW_FORM_string], [DW_AT_stmt_list, DW_FORM_sec_offset], [DW_AT_low_pc, DW_FORM_addr]];
const SUBPROGRAM: AttrSpec[] = [[DW_AT_name, DW_FORM_string], [DW_AT_external, DW_FORM_flag], [DW_AT_decl_file, DW_FORM_udata], [DW_AT_decl_line, DW_FORM_udata], [DW_AT_low_pc, DW_FORM_addr], [DW_AT_high_pc, DW_FORM_data8]];
const INLINED: AttrSpec[] = [[DW_AT_abstract_origin, DW_FORM_ref4], [DW_AT_low_pc, DW_FORM_addr], [DW_AT_high_pc, DW_FORM_data8], [DW_AT_call_file, DW_FORM_udata], [DW_AT_call_line, DW_FORM_udata]];
const INLINED_RANGES: AttrSpec[] = [[DW_AT_abstract_origin, DW_FORM_ref4], [DW_AT_ranges, DW_FORM_sec_offset], [DW_AT_call_file, DW_FORM_udata], [DW_AT_call_line, DW_FORM_udata]];
const ABBREVS: [code: number, tag: number, children: boolean, attrs: AttrSpec[]][] = [
  [Abbrev.CompileUnit, DW_TAG_compile_unit, true, [...UNIT, [DW_AT_high_pc, DW_FORM_data8]]],
  [Abbrev.CompileUnitRanges, DW_TAG_compile_unit, true, [...UNIT, [DW_AT_ranges, DW_FORM_sec_offset]]],
  [Abbrev.Subprogram, DW_TAG_subprogram, true, SUBPROGRAM],
  [Abbrev.SubprogramLeaf, DW_TAG_subprogram, false, SUBPROGRAM],
  [Abbrev.MacroAbstract, DW_TAG_subprogram, false, [[DW_AT_name, DW_FORM_string], [DW_AT_inline, DW_FORM_data1]]],
  [Abbrev.Inlined, DW_TAG_inlined_subroutine, true, INLINED],
  [Abbrev.InlinedLeaf, DW_TAG_inlined_subroutine, false, INLINED],
  [Abbrev.InlinedRanges, DW_TAG_inlined_subroutine, true, INLINED_RANGES],
  [Abbrev.InlinedRangesLeaf, DW_TAG_inlined_subroutine, false, INLINED_RANGES],
];

/** A growable little-endian byte buffer with LEB128. */
class Bytes {
  private buf = Buffer.alloc(256);
  length = 0;
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u8(v: number): this {
    this.room(1);
    this.buf[this.length++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.room(2);
    this.buf.writeUInt16LE(v, this.length);
    this.length += 2;
    return this;
  }
  u32(v: number): this {
    this.room(4);
    this.buf.writeUInt32LE(v >>> 0, this.length);
    this.length += 4;
    return this;
  }
  u64(v: bigint): this {
    this.room(8);
    this.buf.writeBigUInt64LE(BigInt.asUintN(64, v), this.length);
    this.length += 8;
    return this;
  }
  uleb(v: number | bigint): this {
    let x = BigInt(v);
    do {
      let byte = Number(x & 0x7fn);
      x >>= 7n;
      if (x !== 0n) byte |= 0x80;
      this.u8(byte);
    } while (x !== 0n);
    return this;
  }
  sleb(v: number | bigint): this {
    let x = BigInt(v);
    for (;;) {
      const byte = Number(x & 0x7fn);
      x >>= 7n;
      const done = (x === 0n && (byte & 0x40) === 0) || (x === -1n && (byte & 0x40) !== 0);
      this.u8(done ? byte : byte | 0x80);
      if (done) return this;
    }
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    this.room(b.length + 1);
    b.copy(this.buf, this.length);
    this.length += b.length;
    return this.u8(0);
  }
  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }
  patchU32(at: number, v: number): void {
    this.buf.writeUInt32LE(v >>> 0, at);
  }
  done(): Uint8Array {
    return new Uint8Array(this.buf.subarray(0, this.length));
  }
}

/** `<seamlab stubs>` and the like: no file on disk. */
const isPseudoFile = (file: string) => file.startsWith('<');

const cmp = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

/** A GAS `.macro` expansion, keyed by the macro counter (`\@`), unique per expansion in an assembly. */
const expansionKey = (f: GasFrame) => `${f.name}#${f.counter}@${f.invokedAt.file}:${f.invokedAt.line}`;

interface Interval {
  start: bigint;
  end: bigint;
}

/** Sorted, merged intervals. */
function merge(list: Interval[]): Interval[] {
  const sorted = [...list].sort((a, b) => cmp(a.start, b.start));
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i.start <= last.end) {
      if (i.end > last.end) last.end = i.end;
    } else out.push({ ...i });
  }
  return out;
}

interface ExpansionNode {
  key: string;
  frame: GasFrame;
  ranges: Interval[];
  children: ExpansionNode[];
}

/** The macro expansions of the statements, as a tree (outermost first), each with the bytes it produced. */
function expansionTree(statements: ByteRange[]): ExpansionNode[] {
  const roots: ExpansionNode[] = [];
  const nodes = new Map<string, ExpansionNode>();
  for (const r of statements) {
    const macros = r.origin.gasStack.filter((f) => f.kind === 'macro');
    let siblings = roots;
    for (let i = macros.length - 1; i >= 0; i--) {
      const f = macros[i]!;
      // The key includes the path: a node is only ever reached through the same parents.
      const key = macros
        .slice(i)
        .map(expansionKey)
        .join('<');
      let node = nodes.get(key);
      if (!node) {
        node = { key, frame: f, ranges: [], children: [] };
        nodes.set(key, node);
        siblings.push(node);
      }
      node.ranges.push({ start: r.address, end: r.address + BigInt(r.size) });
      siblings = node.children;
    }
  }
  const fix = (list: ExpansionNode[]) => {
    for (const n of list) {
      n.ranges = merge(n.ranges);
      fix(n.children);
    }
    list.sort((a, b) => cmp(a.ranges[0]!.start, b.ranges[0]!.start));
  };
  fix(roots);
  return roots;
}

/** The outermost source position of a statement: the first macro invocation, or the line itself. */
function outermost(r: ByteRange): SourcePos {
  const stack = r.origin.gasStack;
  return stack.length > 0 ? stack[stack.length - 1]!.invokedAt : r.origin.pos;
}

interface FunctionRange {
  name: string;
  external: boolean;
  start: bigint;
  end: bigint;
}

/** Function symbols in executable sections, without aliases or overlaps (the first by address, then the longest, wins). */
function functionRanges(image: Image, exec: Set<string>): FunctionRange[] {
  const stubs = new Set(image.stubs.map((s) => s.name));
  const funcs = image.symbols
    .filter((s) => s.type === 'func' && !s.stub && !stubs.has(s.name) && s.section !== null && exec.has(s.section) && s.size > 0n)
    .map((s) => ({ name: s.name, external: s.binding !== 'local', start: s.address, end: s.address + s.size }))
    .sort((a, b) => cmp(a.start, b.start) || cmp(b.end, a.end) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: FunctionRange[] = [];
  for (const f of funcs) {
    const last = out[out.length - 1];
    if (last && f.start < last.end) continue;
    out.push(f);
  }
  return out;
}

/** The debug sections of an image (see the header comment). */
export function buildDebugInfo(image: Image, opts: DebugInfoOptions): DebugInfo {
  const exec = new Set(image.sections.filter((s) => s.flags.exec).map((s) => s.name));
  const statements = [...image.byteMap]
    .filter((r) => exec.has(r.section) && (r.kind === 'insn' || r.kind === 'data') && !isPseudoFile(r.origin.pos.file))
    .sort((a, b) => cmp(a.address, b.address));

  // File table: every file a row, a call site or a declaration names, sorted for determinism.
  const functions = functionRanges(image, exec).filter((f) => statements.some((r) => r.address >= f.start && r.address < f.end));
  const definedAt = new Map((opts.functions ?? []).map((f) => [f.name, f.definedAt]));
  const declOf = (f: FunctionRange): SourcePos => definedAt.get(f.name) ?? outermost(statements.find((r) => r.address >= f.start)!);
  const fileSet = new Set<string>();
  for (const r of statements) {
    fileSet.add(r.origin.pos.file);
    for (const g of r.origin.gasStack) if (g.kind === 'macro') fileSet.add(g.invokedAt.file);
  }
  for (const f of functions) fileSet.add(declOf(f).file);
  for (const f of [...fileSet]) if (isPseudoFile(f)) fileSet.delete(f);
  const files = [...fileSet].sort();
  const dirs = [...new Set(files.map(dirOf).filter((d) => d !== ''))].sort();
  const fileIndex = new Map(files.map((f, i) => [f, i + 1]));

  const line = lineProgram(statements, files, dirs, fileIndex);

  // Code ranges of the unit: one per executable section with rows.
  const unitRanges: Interval[] = [];
  for (const s of image.sections) {
    const inSection = statements.filter((r) => r.section === s.name);
    if (inSection.length === 0) continue;
    const last = inSection[inSection.length - 1]!;
    unitRanges.push({ start: inSection[0]!.address, end: last.address + BigInt(last.size) });
  }
  const ranges = new Bytes();
  const rangeList = (list: Interval[]): number => {
    const at = ranges.length;
    // A base address selection entry: the pairs that follow are absolute.
    ranges.u64(-1n).u64(0n);
    for (const i of list) ranges.u64(i.start).u64(i.end);
    ranges.u64(0n).u64(0n);
    return at;
  };

  const info = new Bytes();
  info.u32(0).u16(4).u32(0).u8(8); // unit_length (patched), version, abbrev offset, address size
  const producer = opts.producer ?? 'seamlab';
  const unitHead = () => info.str(producer).u16(DW_LANG_Mips_Assembler).str(image.sourceFile).str(opts.compDir).u32(0);
  if (unitRanges.length === 1) {
    info.uleb(Abbrev.CompileUnit);
    unitHead();
    info.u64(unitRanges[0]!.start).u64(unitRanges[0]!.end - unitRanges[0]!.start);
  } else {
    info.uleb(Abbrev.CompileUnitRanges);
    unitHead();
    info.u64(0n).u32(rangeList(unitRanges));
  }
  // Abstract subprograms for the macros (DIE offsets referenced by the inlined instances).
  const macroNames = [...new Set(statements.flatMap((r) => r.origin.gasStack.filter((f) => f.kind === 'macro').map((f) => f.name)))].sort();
  const macroDie = new Map<string, number>();
  for (const name of macroNames) {
    macroDie.set(name, info.length);
    info.uleb(Abbrev.MacroAbstract).str(name).u8(DW_INL_inlined);
  }
  const writeExpansion = (n: ExpansionNode, within: FunctionRange) => {
    const clipped = n.ranges.map((i) => ({ start: i.start < within.start ? within.start : i.start, end: i.end > within.end ? within.end : i.end })).filter((i) => i.start < i.end);
    if (clipped.length === 0) return;
    const call = n.frame.invokedAt;
    const leaf = n.children.length === 0;
    if (clipped.length === 1) {
      info.uleb(leaf ? Abbrev.InlinedLeaf : Abbrev.Inlined).u32(macroDie.get(n.frame.name)!).u64(clipped[0]!.start).u64(clipped[0]!.end - clipped[0]!.start);
    } else {
      info.uleb(leaf ? Abbrev.InlinedRangesLeaf : Abbrev.InlinedRanges).u32(macroDie.get(n.frame.name)!).u32(rangeList(clipped));
    }
    info.uleb(fileIndex.get(call.file) ?? 0).uleb(call.line);
    if (leaf) return;
    for (const c of n.children) writeExpansion(c, within);
    info.u8(0);
  };
  for (const f of functions) {
    const decl = declOf(f);
    const expansions = expansionTree(statements.filter((r) => r.address >= f.start && r.address < f.end));
    const leaf = expansions.length === 0;
    info.uleb(leaf ? Abbrev.SubprogramLeaf : Abbrev.Subprogram).str(f.name).u8(f.external ? 1 : 0).uleb(fileIndex.get(decl.file) ?? 0).uleb(decl.line).u64(f.start).u64(f.end - f.start);
    if (leaf) continue;
    for (const n of expansions) writeExpansion(n, f);
    info.u8(0);
  }
  info.u8(0); // end of the unit's children
  info.patchU32(0, info.length - 4);

  const abbrev = new Bytes();
  for (const [code, tag, children, attrs] of ABBREVS) {
    abbrev.uleb(code).uleb(tag).u8(children ? 1 : 0);
    for (const [a, f] of attrs) abbrev.uleb(a).uleb(f);
    abbrev.u8(0).u8(0);
  }
  abbrev.u8(0);

  const sections: DebugSection[] = [
    { name: '.debug_info', bytes: info.done() },
    { name: '.debug_abbrev', bytes: abbrev.done() },
    { name: '.debug_line', bytes: line },
  ];
  if (ranges.length > 0) sections.push({ name: '.debug_ranges', bytes: ranges.done() });
  return { sections, sourceFiles: files };
}

function dirOf(file: string): string {
  const i = file.lastIndexOf('/');
  return i < 0 ? '' : file.slice(0, i);
}

/** The `.debug_line` unit: header with the directory and file tables, one sequence per executable section. */
function lineProgram(statements: ByteRange[], files: string[], dirs: string[], fileIndex: Map<string, number>): Uint8Array {
  const out = new Bytes();
  out.u32(0).u16(4).u32(0); // unit_length, version, header_length (both patched)
  const headerStart = out.length;
  out.u8(1).u8(1).u8(1); // minimum_instruction_length, maximum_operations_per_instruction, default_is_stmt
  out.u8(-5 & 0xff).u8(14).u8(13); // line_base, line_range, opcode_base
  for (const n of [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1]) out.u8(n);
  for (const d of dirs) out.str(d);
  out.u8(0);
  for (const f of files) {
    const d = dirOf(f);
    out.str(d === '' ? f : f.slice(d.length + 1)).uleb(d === '' ? 0 : dirs.indexOf(d) + 1).uleb(0).uleb(0);
  }
  out.u8(0);
  out.patchU32(6, out.length - headerStart);

  const bySection = new Map<string, ByteRange[]>();
  for (const r of statements) {
    const list = bySection.get(r.section);
    if (list) list.push(r);
    else bySection.set(r.section, [r]);
  }
  for (const list of bySection.values()) {
    let address = list[0]!.address;
    let file = 1;
    let lineNo = 1;
    out.u8(0).uleb(9).u8(DW_LNE_set_address).u64(address);
    for (const r of list) {
      if (r.address !== address) {
        out.u8(DW_LNS_advance_pc).uleb(r.address - address);
        address = r.address;
      }
      const f = fileIndex.get(r.origin.pos.file)!;
      if (f !== file) {
        out.u8(DW_LNS_set_file).uleb(f);
        file = f;
      }
      if (r.origin.pos.line !== lineNo) {
        out.u8(DW_LNS_advance_line).sleb(r.origin.pos.line - lineNo);
        lineNo = r.origin.pos.line;
      }
      out.u8(DW_LNS_copy);
    }
    const last = list[list.length - 1]!;
    const end = last.address + BigInt(last.size);
    out.u8(DW_LNS_advance_pc).uleb(end - address);
    out.u8(0).uleb(1).u8(DW_LNE_end_sequence);
  }
  out.patchU32(0, out.length - 4);
  return out.done();
}
