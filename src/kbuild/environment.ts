/**
 * The build environment a real kernel build would give the preprocessor,
 * generated from the tree:
 *
 * - include/generated/autoconf.h from a kconfig profile or a user .config;
 * - the asm-generic wrapper headers (arch/x86/include/generated/…);
 * - include/generated/asm-offsets.h computed from the struct definitions;
 * - the include chain, forced includes and -D flags Kbuild passes for a .S
 *   file, read from the tree's Makefiles;
 * - gcc's predefined macros for x86-64 assembler-with-cpp.
 *
 * Environments are cached per file system and configuration within a
 * process (generated once, used for every file of a revision), and on disk
 * across processes (env-cache.ts: keyed by every input file's fingerprint,
 * so never stale).
 */
import { SeamlabError } from '../errors.js';
import { locationAt } from '../support/source-location.js';
import { looksBinary, quotedLine, readUserFile } from '../support/user-files.js';
import { normalizeTreePath, OverlayFs, type ReadonlyFs } from '../support/vfs.js';
import { step } from '../support/progress.js';
import { asmGenericWrappers } from './asm-generic.js';
import { ASM_OFFSETS_HEADER, generateAsmOffsets, type AsmOffsetEntry, type AsmOffsets, type OmittedOffset } from './asm-offsets.js';
import { EnvCacheSlot, environmentKey, RecordingFs } from './env-cache.js';
import { kbuildFlags, type KbuildFlags } from './kbuild-flags.js';
import { configKey, configure, type TreeConfig } from './kconfig/index.js';
import { GCC12_TOOLCHAIN } from './kconfig/toolchain.js';
import { GCC_ASM_PREDEFINES, GCC_C_PREDEFINES } from './predefined.js';
import type { CppConfig } from '../cpp/preprocessor.js';
import type { SearchChain } from '../cpp/include-search.js';

export const AUTOCONF_HEADER = 'include/generated/autoconf.h';

export interface EnvironmentOptions {
  /** Kconfig profile name (default "default"). */
  profile?: string;
  /** A user .config: its text (contains a newline), or a path on disk. */
  config?: string;
}

export interface CppEnvironment {
  /** The revision's files with the generated headers layered over them. */
  files: OverlayFs;
  /** Generated headers: tree path → content. */
  generated: Map<string, string>;
  config: TreeConfig;
  asmOffsets: AsmOffsets;
  /** Kbuild's flags for assembling `file`. */
  flagsFor(file: string): KbuildFlags;
  /** The preprocessor configuration for `file` (include chain, predefines …). */
  cppConfig(file: string): CppConfig;
  notes: string[];
}

const cache = new WeakMap<ReadonlyFs, Map<string, CppEnvironment>>();

/** Largest .config read (a full x86 .config is about 300 KiB). */
const MAX_DOT_CONFIG_BYTES = 4 << 20;

/**
 * Reads a user .config given as text or as a path on disk. A path must be a
 * regular file of at most MAX_DOT_CONFIG_BYTES (a FIFO or /dev/zero is
 * refused, not read), and every line must read as a .config line: the
 * first one that does not is reported where it is, quoted with its control
 * bytes escaped.
 */
export function readDotConfig(config: string): string {
  if (config.includes('\n')) return config;
  const text = readUserFile(config, { what: 'kernel .config', codes: { notFound: 'CONFIG_NOT_FOUND', notAFile: 'CONFIG_NOT_A_FILE', tooBig: 'CONFIG_TOO_BIG' }, maxBytes: MAX_DOT_CONFIG_BYTES, hint: 'give the path of a kernel .config file (lines CONFIG_X=y or # CONFIG_X is not set)' }).toString('utf8');
  checkDotConfigLines(text, config);
  return text;
}

function isJsonString(v: string): boolean {
  try {
    return typeof JSON.parse(v) === 'string';
  } catch {
    return false;
  }
}

/** The line syntax of a .config, checked with positions in `file` (parseDotConfig reads the values). */
function checkDotConfigLines(text: string, file: string): void {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.trim();
    const binary = looksBinary(l);
    const value = /^CONFIG_[A-Za-z0-9_]+=(.*)$/.exec(l)?.[1];
    if (!binary && value?.startsWith('"') && !isJsonString(value)) {
      throw new SeamlabError('CONFIG_SYNTAX', `line ${i + 1}: bad string value ${quotedLine(value)}`, 'write CONFIG_X="text" (quotes and backslashes escaped with \\)', { where: locationAt({ file, line: i + 1 }) });
    }
    if (!binary && (l === '' || l.startsWith('#') || value !== undefined)) continue;
    throw new SeamlabError('CONFIG_SYNTAX',
      binary ? `${file} is not a kernel .config: line ${i + 1} holds binary data (NUL or bytes that are not UTF-8)` : `line ${i + 1} is not a .config line: "${quotedLine(l)}"`,
      'a .config has lines CONFIG_X=y, CONFIG_X="text" and # CONFIG_X is not set (the kernel build writes one)',
      { where: locationAt({ file, line: i + 1 }) });
  }
}

function chainOf(flags: KbuildFlags): SearchChain {
  return { dirs: flags.includeDirs.map((spelled) => ({ spelled })), bracketStart: 0 };
}

/** What buildEnvironment computes once per revision and configuration (and what the disk cache holds). */
interface GeneratedEnvironment {
  config: Omit<TreeConfig, 'values' | 'toolchain'> & { values: [string, string][] };
  /** Generated headers in the order they were made. */
  generated: [string, string][];
  asmOffsets: { header: string; entries: (Omit<AsmOffsetEntry, 'value'> & { value: string })[]; omitted: OmittedOffset[] };
}

function isGenerated(x: unknown): x is GeneratedEnvironment {
  const g = x as GeneratedEnvironment;
  return (
    typeof g === 'object' && g !== null &&
    typeof g.config === 'object' && g.config !== null && Array.isArray(g.config.values) && typeof g.config.autoconf === 'string' && Array.isArray(g.config.notes) &&
    Array.isArray(g.generated) && typeof g.asmOffsets === 'object' && g.asmOffsets !== null && typeof g.asmOffsets.header === 'string' &&
    Array.isArray(g.asmOffsets.entries) && Array.isArray(g.asmOffsets.omitted)
  );
}

function isFlags(x: unknown): x is KbuildFlags {
  const f = x as KbuildFlags;
  return typeof f === 'object' && f !== null && Array.isArray(f.includeDirs) && Array.isArray(f.forcedIncludes) && Array.isArray(f.defineLines) && Array.isArray(f.argv);
}

/** One recorder per revision file system, shared by its configurations (the Kconfig parse is shared too). */
const recorders = new WeakMap<ReadonlyFs, RecordingFs>();

function recorderFor(files: ReadonlyFs): RecordingFs {
  let r = recorders.get(files);
  if (!r) recorders.set(files, (r = new RecordingFs(files)));
  return r;
}

/** Runs the generators: Kconfig, the asm-generic wrappers, asm-offsets.h. */
function generate(files: ReadonlyFs, profile: string, dotConfig: string | undefined): GeneratedEnvironment {
  const config = configure(files, profile, dotConfig);
  const overlay = new OverlayFs(files, 'generated');
  const generated: [string, string][] = [];
  const put = (p: string, text: string): void => {
    overlay.set(p, text);
    generated.push([p, text]);
  };
  put(AUTOCONF_HEADER, config.autoconf);
  for (const w of asmGenericWrappers(files, config.values)) put(w.path, w.content);

  // asm-offsets.c is compiled with c_flags: the same include chain and
  // forced includes, KBUILD_CPPFLAGS' defines, and no __ASSEMBLY__.
  const cFlags = kbuildFlags(files, config.values, config.toolchain, 'arch/x86/kernel/asm-offsets.c');
  const cDefines = cFlags.defineLines.filter((l) => !/^#define __ASSEMBLY__\b/.test(l) && !/KBUILD_MOD(NAME|FILE)/.test(l));
  const asmOffsets = generateAsmOffsets(overlay, chainOf(cFlags), cFlags.forcedIncludes, GCC_C_PREDEFINES + cDefines.join('\n') + '\n', files);
  put(ASM_OFFSETS_HEADER, asmOffsets.header);
  const { values, toolchain, ...rest } = config;
  void toolchain;
  return {
    config: { ...rest, values: [...values] },
    generated,
    asmOffsets: { header: asmOffsets.header, entries: asmOffsets.entries.map((e) => ({ ...e, value: e.value.toString() })), omitted: [...asmOffsets.omitted.values()] },
  };
}

/** Builds (or returns the cached) environment for a revision and a profile or .config. */
export function buildEnvironment(files: ReadonlyFs, opts: EnvironmentOptions = {}): CppEnvironment {
  const profile = opts.profile ?? 'default';
  const dotConfig = opts.config === undefined ? undefined : readDotConfig(opts.config);
  const key = configKey(profile, dotConfig);
  let perFs = cache.get(files);
  if (!perFs) {
    perFs = new Map();
    cache.set(files, perFs);
  }
  const hit = perFs.get(key);
  if (hit) return hit;

  // The disk cache (env-cache.ts) when this file system can be fingerprinted.
  const diskKey = environmentKey(files, key);
  const slot = diskKey === undefined ? undefined : new EnvCacheSlot<GeneratedEnvironment>(diskKey, 'env');
  let gen: GeneratedEnvironment;
  let digest = '';
  const stored = slot?.lookup(files, isGenerated);
  if (stored) {
    envCacheStats.envHits++;
    gen = stored.result;
    digest = stored.digest;
  } else {
    if (slot) envCacheStats.envMisses++;
    const recorder = slot ? recorderFor(files) : undefined;
    gen = step(`evaluating Kconfig (${dotConfig === undefined ? `profile ${profile}` : '.config'}) and generating headers`, () => generate(recorder ?? files, profile, dotConfig));
    if (slot && recorder) digest = slot.store(recorder.inputs(), gen);
  }

  const config: TreeConfig = { ...gen.config, values: new Map(gen.config.values), toolchain: GCC12_TOOLCHAIN };
  const overlay = new OverlayFs(files, 'generated');
  const generated = new Map<string, string>();
  for (const [p, text] of gen.generated) {
    overlay.set(p, text);
    generated.set(p, text);
  }
  const asmOffsets: AsmOffsets = {
    header: gen.asmOffsets.header,
    entries: gen.asmOffsets.entries.map((e) => ({ ...e, value: BigInt(e.value) })),
    omitted: new Map(gen.asmOffsets.omitted.map((o) => [o.name, o])),
  };

  const flagCache = new Map<string, KbuildFlags>();
  const flagsFor = (file: string): KbuildFlags => {
    const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '.';
    const stem = file.slice(file.lastIndexOf('/') + 1);
    const k = `${dir}/${stem}`;
    let f = flagCache.get(k);
    if (!f) {
      // A file's flags depend on the configuration (the digest of the generated environment) and the Makefiles.
      const flagSlot = diskKey === undefined ? undefined : new EnvCacheSlot<KbuildFlags>(JSON.stringify({ env: diskKey, digest, file: k }), 'flags');
      f = flagSlot?.lookup(files, isFlags)?.result;
      if (f) envCacheStats.flagsHits++;
      else if (flagSlot) {
        envCacheStats.flagsMisses++;
        const recorder = new RecordingFs(files);
        f = kbuildFlags(recorder, config.values, config.toolchain, file);
        flagSlot.store(recorder.inputs(), f);
      } else {
        f = kbuildFlags(files, config.values, config.toolchain, file);
      }
      flagCache.set(k, f);
    }
    return f;
  };

  const forbidden = new Map<string, { message: string; hint: string; notes?: string[] }>();
  for (const o of asmOffsets.omitted.values()) {
    forbidden.set(o.name, o.missingType
      ? {
        // The usual cause: a patch removed or renamed the struct and left asm-offsets.c (or this .S) using it.
        message: `${o.name} cannot be computed: ${o.missingType} no longer exists in this revision (no header asm-offsets.c includes defines it)`,
        hint: `${o.at.file}:${o.at.line} still uses ${o.missingType} (${o.text}): a patch that removes or renames the struct must also change asm-offsets.c and the .S files that use ${o.name}`,
        notes: [`${o.name} is defined by ${o.at.file}:${o.at.line} as ${o.text}`],
      }
      : {
        message: `${o.name} is an asm-offsets.h entry seamlab could not compute: ${o.reason}`,
        hint: 'the layout of this struct depends on constructs seamlab does not evaluate; report it with the struct named in the message',
        notes: [`${o.name} is defined by ${o.at.file}:${o.at.line} as ${o.text}`],
      });
  }
  const env: CppEnvironment = {
    files: overlay,
    generated,
    config,
    asmOffsets,
    flagsFor,
    cppConfig(file: string): CppConfig {
      const f = flagsFor(file);
      return {
        mode: 'asm',
        chain: chainOf(f),
        forcedIncludes: f.forcedIncludes,
        predefines: GCC_ASM_PREDEFINES + f.defineLines.join('\n') + '\n',
        macroPrefixMap: f.macroPrefixMap,
        sourceDateEpoch: sourceDateEpoch(),
        forbiddenNames: new Map(forbidden),
      };
    },
    notes: [...config.notes],
  };
  if (diskKey !== undefined) diskIdentity.set(env, { key: diskKey, digest });
  perFs.set(key, env);
  return env;
}

const diskIdentity = new WeakMap<CppEnvironment, { key: string; digest: string }>();

/**
 * The environment's identity in the disk cache (its key and the digest of
 * what was generated), or undefined when it is not cached on disk.
 */
export function environmentDiskIdentity(env: CppEnvironment): { key: string; digest: string } | undefined {
  return diskIdentity.get(env);
}

/** Disk-cache figures for tests and benchmarks. */
export const envCacheStats = { envHits: 0, envMisses: 0, flagsHits: 0, flagsMisses: 0, cppHits: 0, cppMisses: 0 };

/** __DATE__/__TIME__ come from SOURCE_DATE_EPOCH (0 when unset), so output is reproducible. */
export function sourceDateEpoch(): number {
  const v = process.env.SOURCE_DATE_EPOCH;
  return v && /^\d+$/.test(v) ? Number(v) : 0;
}

/** Checks a tree-relative path for the main file. */
export function checkMainFile(files: ReadonlyFs, file: string): string {
  const n = normalizeTreePath(file);
  if (n === undefined || n === '') {
    throw new SeamlabError('CPP_NO_SUCH_FILE', `${file}: not a path inside the tree`, 'give a path relative to the kernel tree root, e.g. arch/x86/virt/vmx/tdx/seamcall.S');
  }
  if (files.readFile(n) === undefined) {
    throw new SeamlabError('CPP_NO_SUCH_FILE', `${n}: no such file in this revision`, 'give a path relative to the kernel tree root, e.g. arch/x86/virt/vmx/tdx/seamcall.S');
  }
  return n;
}
