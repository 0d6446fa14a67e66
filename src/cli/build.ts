/**
 * `seamlab build REV [--profile P] [--file F] [--listing] [--json] [--elf FILE]`:
 * preprocesses, assembles and links every .S of the revision that defines a
 * TDX entry point, and shows the images: sections, functions, exception
 * table and stubs; `--listing` the statements with addresses and bytes
 * (macro expansions indented under their invocation, code with the
 * instruction it encodes); `--json` everything
 * including the source map; `--elf` writes ELF64 executables with DWARF
 * line information and, next to each, the sources it names
 * (`FILE.src/<tree-relative path>`, the revision's content — patched files
 * included — which DW_AT_comp_dir points at, so gdb and objdump find them).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { SeamlabError } from '../errors.js';
import { formatPos } from '../support/source-location.js';
import { loadDisassembler } from '../encode/capstone.js';
import { buildRevision, type BuiltFile } from '../image/build.js';
import { writeElf } from '../image/elf.js';
import { buildDebugInfo } from '../image/dwarf.js';
import type { Revision } from '../intake/types.js';
import { formatListing } from '../report/listing.js';
import type { Image } from '../image/types.js';
import { resolveRevision } from '../intake/revision.js';

export interface BuildCliOptions {
  profile?: string;
  file?: string;
  listing?: boolean;
  json?: boolean;
  elf?: string;
  cwd?: string;
}

export interface BuildCliResult {
  text: string;
  /** Warnings from the assembler (printed on stderr). */
  warnings: string[];
  exitCode: number;
  /** ELF files written. */
  written: string[];
  /** Source files written next to them (FILE.src/…). */
  sources: string[];
}

const hx = (v: bigint) => '0x' + BigInt.asUintN(64, v).toString(16);

function flags(f: { alloc: boolean; write: boolean; exec: boolean }): string {
  return `${f.alloc ? 'a' : ''}${f.write ? 'w' : ''}${f.exec ? 'x' : ''}` || '-';
}

export function imageJson(image: Image): unknown {
  return {
    sourceFile: image.sourceFile,
    profile: image.profile,
    sections: image.sections.map((s) => ({ name: s.name, address: hx(s.address), size: s.bytes.length, flags: flags(s.flags), align: s.align, bytes: Buffer.from(s.bytes).toString('hex') })),
    symbols: image.symbols.map((s) => ({ ...s, address: hx(s.address), size: Number(s.size) })),
    extable: image.extable.map((e) => ({ ...e, entryAddress: hx(e.entryAddress), insn: hx(e.insn), fixup: hx(e.fixup) })),
    stubs: image.stubs.map((s) => ({ ...s, address: hx(s.address) })),
    byteMap: image.byteMap.map((r) => ({
      address: hx(r.address),
      size: r.size,
      section: r.section,
      kind: r.kind,
      file: r.origin.pos.file,
      line: r.origin.pos.line,
      includeStack: r.origin.includeStack.map(formatPos),
      cppStack: r.origin.cppStack.map((m) => ({ macro: m.macro, at: formatPos(m.at) })),
      gasStack: r.origin.gasStack.map((f) => ({ kind: f.kind, name: f.name, invokedAt: formatPos(f.invokedAt), invocation: f.invocation, counter: f.counter, ...(f.pass !== undefined ? { pass: f.pass } : {}) })),
      text: r.origin.text,
    })),
    cfi: image.cfi.map((c) => ({ address: hx(c.address), directive: c.directive, file: formatPos(c.origin.pos) })),
  };
}

function summary(b: BuiltFile): string[] {
  const img = b.image;
  const out = [`  ${b.file}  (${b.functions.join(', ')})`];
  for (const s of img.sections) out.push(`    section  ${s.name.padEnd(18)} ${hx(s.address)}  ${String(s.bytes.length).padStart(5)} bytes  ${flags(s.flags)}`);
  for (const s of img.symbols.filter((x) => x.type === 'func' && !x.stub)) out.push(`    function ${s.name.padEnd(22)} ${hx(s.address)}  size ${s.size}  ${s.binding}`);
  for (const e of img.extable) out.push(`    extable  ${hx(e.insn)} → ${hx(e.fixup)}  ${e.typeName ?? `type ${e.type}`}${e.typeWord !== e.type ? ` (data ${hx(BigInt(e.typeWord))})` : ''}`);
  for (const s of img.stubs) out.push(`    stub     ${s.name.padEnd(22)} ${hx(s.address)}  ${s.kind}: ${s.description}`);
  return out;
}

function elfName(base: string, file: string, several: boolean): string {
  if (!several) return base;
  const ext = path.extname(base);
  const stem = base.slice(0, base.length - ext.length);
  return `${stem}.${path.basename(file, path.extname(file))}${ext || '.elf'}`;
}

export async function runBuild(spec: string, opts: BuildCliOptions = {}): Promise<BuildCliResult> {
  const rev = resolveRevision(spec, { cwd: opts.cwd });
  const profile = opts.profile ?? 'default';
  const built = buildRevision(rev, profile);
  let files = built.files;
  if (opts.file) {
    files = files.filter((f) => f.file === opts.file);
    if (files.length === 0) {
      throw new SeamlabError('BUILD_NO_SUCH_FILE', `${opts.file} is not an entry-point file of ${spec}`, `use one of: ${built.files.map((f) => f.file).join(', ')}`);
    }
  }
  const warnings: string[] = [];
  for (const f of files) {
    for (const w of f.warnings) warnings.push(`${formatPos(w.where.pos)}: warning: ${w.message}`);
  }
  const written: string[] = [];
  const sources: string[] = [];
  if (opts.elf) {
    const target = path.resolve(opts.cwd ?? process.cwd(), opts.elf);
    for (const f of files) {
      const name = elfName(target, f.file, files.length > 1);
      sources.push(...writeElfWithSources(name, f.image, rev));
      written.push(name);
    }
  }
  let text: string;
  if (opts.json) {
    text = JSON.stringify({ revision: built.revision, profile, files: files.map((f) => ({ file: f.file, functions: f.functions, image: imageJson(f.image) })) }, null, 2);
  } else {
    const lines = [`${built.revision} (profile ${profile})`];
    const disasm = opts.listing ? await loadDisassembler() : undefined;
    for (const f of files) {
      lines.push(...summary(f));
      if (opts.listing) lines.push('', formatListing(f.image, f.listing, disasm));
    }
    for (const w of written) lines.push(`wrote ${w}`);
    text = lines.join('\n');
  }
  return { text, warnings, exitCode: 0, written, sources };
}

/**
 * Writes the ELF of one image with its DWARF, and the sources the DWARF
 * names under `NAME.src/` (their content in the revision: a patched file as
 * patched). Returns the source paths written.
 */
export function writeElfWithSources(name: string, image: Image, rev: Revision): string[] {
  const srcDir = `${name}.src`;
  const functions = rev.functions.filter((fn) => fn.sourceFile === image.sourceFile).map((fn) => ({ name: fn.name, definedAt: fn.definedAt }));
  const debug = buildDebugInfo(image, { compDir: srcDir, functions });
  writeFileSync(name, writeElf(image, { extraSections: debug.sections }));
  const out: string[] = [];
  for (const p of debug.sourceFiles) {
    const text = rev.files.readFile(p);
    if (text === undefined) continue;
    const dest = path.join(srcDir, ...p.split('/'));
    mkdirSync(path.dirname(dest), { recursive: true });
    writeFileSync(dest, text);
    out.push(dest);
  }
  return out;
}

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('preprocess, assemble and link the TDX entry-point .S files of a revision into images (byte-identical to gcc -E + GNU as + ld)')
    .argument('<rev>', 'revision spec: v3, linux-6.1, linux-6.12, a kernel tree, or BASE+PATCH…')
    .option('--profile <name>', 'kconfig profile (default, noframe, sls, rethunk, ibt)', 'default')
    .option('--file <path>', 'only this .S (tree-relative)')
    .option('--listing', 'print every statement with its address, bytes and (for code) the instruction they encode, macro expansions indented')
    .option('--json', 'machine-readable images: sections with bytes, symbols, exception table, stubs, source map')
    .option('--elf <file>', 'write an ELF64 executable per image (FILE, or FILE.<name>.elf for several) with DWARF line info; its sources go to FILE.src/')
    .action(async (rev: string, opts: BuildCliOptions) => {
      const r = await runBuild(rev, opts);
      for (const w of r.warnings) console.error(w);
      console.log(r.text);
      if (r.exitCode !== 0) process.exitCode = r.exitCode;
    });
}
