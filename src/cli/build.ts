/**
 * `seamlab build REV [--profile P | --config FILE] [--file F] [--listing] [--json] [--elf FILE]`:
 * preprocesses, assembles and links every .S of the revision that defines a
 * TDX entry point (each file on its own: one that does not build is reported
 * and the others are still built; `--file` builds only that one), and shows
 * the images: sections, functions, exception table and stubs; `--listing`
 * the statements with addresses and bytes (macro expansions indented under
 * their invocation, code with the instruction it encodes); `--json`
 * everything including the source map; `--elf` writes ELF64 executables with DWARF
 * line information and, next to each, the sources it names
 * (`FILE.src/<tree-relative path>`, the revision's content — patched files
 * included — which DW_AT_comp_dir points at, so gdb and objdump find them).
 */
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import { isSeamlabError, SeamlabError } from '../errors.js';
import { formatPos } from '../support/source-location.js';
import type { BuiltFile } from '../image/build.js';
import type { Image } from '../image/types.js';
import type { Revision } from '../intake/types.js';
import { formatListing } from '../report/listing.js';
import { fitTextToStream } from '../report/table.js';
import { failedFileLines, flags, hx, summary } from '../report/build-report.js';
import { EXIT } from './exit-codes.js';
import { checkOutputPath, makeOutputDir, writeOutputFile } from '../support/user-files.js';
import { noFuzzOption, resolveOptionsOf } from './revision-options.js';

export interface BuildCliOptions {
  profile?: string;
  /** A kernel .config used instead of the profile. */
  config?: string;
  /** false for --no-fuzz. */
  fuzz?: boolean;
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

function elfName(base: string, file: string, several: boolean): string {
  if (!several) return base;
  const ext = path.extname(base);
  const stem = base.slice(0, base.length - ext.length);
  return `${stem}.${path.basename(file, path.extname(file))}${ext || '.elf'}`;
}

/** The entry-point files of a revision (sorted) with the functions each defines. */
function entryPointFiles(rev: Revision): Map<string, string[]> {
  const byFile = new Map<string, string[]>();
  for (const f of rev.functions) byFile.set(f.sourceFile, [...(byFile.get(f.sourceFile) ?? []), f.name]);
  return new Map([...byFile.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export async function runBuild(spec: string, opts: BuildCliOptions = {}): Promise<BuildCliResult> {
  const [{ resolveRevision }, { buildImage }, { readDotConfig }] = await Promise.all([import('../intake/revision.js'), import('../image/build.js'), import('../kbuild/environment.js')]);
  const rev = resolveRevision(spec, { cwd: opts.cwd, ...resolveOptionsOf(opts) });
  // A bad --config is refused once, here, not once per file that would build with it.
  if (opts.config !== undefined) readDotConfig(opts.cwd ? path.resolve(opts.cwd, opts.config) : opts.config);
  const profile = opts.profile ?? 'default';
  const all = entryPointFiles(rev);
  if (all.size === 0) {
    throw new SeamlabError('BUILD_NO_ENTRY_POINTS', `revision ${rev.name} defines no TDX entry point`, 'check the revision spec: it must contain a .S using TDX_MODULE_CALL');
  }
  let wanted = [...all.keys()];
  if (opts.file) {
    if (!all.has(opts.file)) {
      throw new SeamlabError('BUILD_NO_SUCH_FILE', `${opts.file} is not an entry-point file of ${spec}`, `use one of: ${[...all.keys()].join(', ')}`);
    }
    wanted = [opts.file];
  }
  // --elf naming a directory (or a device) is refused before anything is built or written.
  const elfTarget = opts.elf ? path.resolve(opts.cwd ?? process.cwd(), opts.elf) : undefined;
  if (elfTarget) {
    checkOutputPath(elfTarget, '--elf output');
    for (const f of wanted) checkOutputPath(elfName(elfTarget, f, wanted.length > 1), '--elf output');
  }
  // Each file on its own: an error in one does not stop the others (a named --file is built alone).
  // As given (images and messages name it so); relative to `cwd` when one is given.
  const config = opts.config === undefined ? undefined : opts.cwd ? path.resolve(opts.cwd, opts.config) : opts.config;
  const files: BuiltFile[] = [];
  const failed: { file: string; functions: string[]; error: SeamlabError }[] = [];
  for (const file of wanted) {
    try {
      files.push({ file, functions: all.get(file)!, ...buildImage(rev.files, file, { profile, ...(config !== undefined ? { config } : {}) }) });
    } catch (e) {
      if (!isSeamlabError(e) || opts.file) throw e;
      failed.push({ file, functions: all.get(file)!, error: e });
    }
  }
  const warnings: string[] = [];
  for (const f of files) {
    for (const w of f.warnings) warnings.push(`${formatPos(w.where.pos)}: warning: ${w.message}`);
  }
  const written: string[] = [];
  const sources: string[] = [];
  if (elfTarget) {
    for (const f of files) {
      const name = elfName(elfTarget, f.file, wanted.length > 1);
      sources.push(...await writeElfWithSources(name, f.image, rev));
      written.push(name);
    }
  }
  const configured = opts.config === undefined ? `profile ${profile}` : `.config ${opts.config}`;
  let text: string;
  if (opts.json) {
    const { documentHeader, errorObject, jsonText } = await import('../report/json-schema.js');
    text = jsonText({
      ...documentHeader('build'), revision: rev.name, profile, ...(opts.config !== undefined ? { config: opts.config } : {}),
      files: files.map((f) => ({ file: f.file, functions: f.functions, image: imageJson(f.image) })),
      failed: failed.map((f) => ({ file: f.file, functions: f.functions, error: errorObject(f.error) })),
    });
  } else {
    const lines = [`${rev.name} (${configured})`];
    const disasm = opts.listing ? await (await import('../encode/capstone.js')).loadDisassembler() : undefined;
    for (const f of files) {
      lines.push(...summary(f));
      if (opts.listing) lines.push('', formatListing(f.image, f.listing, disasm));
    }
    for (const f of failed) lines.push(...failedFileLines(f.file, f.functions, f.error));
    for (const w of written) lines.push(`wrote ${w}`);
    text = lines.join('\n');
  }
  return { text, warnings, exitCode: failed.length ? EXIT.userError : EXIT.ok, written, sources };
}

/**
 * Writes the ELF of one image with its DWARF, and the sources the DWARF
 * names under `NAME.src/` (their content in the revision: a patched file as
 * patched). Returns the source paths written.
 */
export async function writeElfWithSources(name: string, image: Image, rev: Revision): Promise<string[]> {
  const [{ writeElf }, { buildDebugInfo }] = await Promise.all([import('../image/elf.js'), import('../image/dwarf.js')]);
  const srcDir = `${name}.src`;
  const functions = rev.functions.filter((fn) => fn.sourceFile === image.sourceFile).map((fn) => ({ name: fn.name, definedAt: fn.definedAt }));
  checkOutputPath(name, '--elf output');
  const debug = buildDebugInfo(image, { compDir: srcDir, functions });
  // The sources first, the ELF last (through a temporary file and a rename): an ELF on disk always has its sources.
  const out: string[] = [];
  for (const p of debug.sourceFiles) {
    const text = rev.files.readFile(p);
    if (text === undefined) continue;
    const dest = path.join(srcDir, ...p.split('/'));
    makeOutputDir(path.dirname(dest), 'ELF source directory');
    writeOutputFile(dest, text, 'ELF source file');
    out.push(dest);
  }
  writeOutputFile(name, writeElf(image, { extraSections: debug.sections }), '--elf output');
  return out;
}

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('preprocess, assemble and link the TDX entry-point .S files of a revision into images (byte-identical to gcc -E + GNU as + ld)')
    .argument('<rev>', 'revision spec: v3, linux-6.1, linux-6.12, a kernel tree, or BASE+PATCH…')
    .option('--profile <name>', 'kconfig profile (default, noframe, sls, rethunk, ibt)', 'default')
    .addOption(new Option('--config <file>', 'use this kernel .config instead of a profile').conflicts('profile'))
    .addOption(noFuzzOption())
    .option('--file <path>', 'only this .S (tree-relative)')
    .option('--listing', 'print every statement with its address, bytes and (for code) the instruction they encode, macro expansions indented')
    .option('--json', 'a JSON document (format seamlab-build): images with sections and bytes, symbols, exception table, stubs, source map')
    .option('--elf <file>', 'write an ELF64 executable per image (FILE, or FILE.<name>.elf for several) with DWARF line info; its sources go to FILE.src/')
    .option('--wide', 'do not fit the summary to the terminal width (the listing and JSON are never wrapped)')
    .action(async (rev: string, opts: BuildCliOptions & { wide?: boolean }) => {
      const r = await runBuild(rev, opts);
      for (const w of r.warnings) console.error(w);
      // The summary wraps on a terminal; a listing keeps one statement per line, as objdump does.
      console.log(opts.json || opts.listing ? r.text : fitTextToStream(r.text, process.stdout, opts.wide));
      if (r.exitCode !== 0) process.exitCode = r.exitCode;
    });
}
