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
 * process (generated once, used for every file of a revision).
 */
import * as nodeFs from 'node:fs';
import { SeamlabError } from '../errors.js';
import { normalizeTreePath, OverlayFs, type ReadonlyFs } from '../intake/vfs.js';
import { asmGenericWrappers } from './asm-generic.js';
import { ASM_OFFSETS_HEADER, generateAsmOffsets, type AsmOffsets } from './asm-offsets.js';
import { kbuildFlags, type KbuildFlags } from './kbuild-flags.js';
import { configKey, configure, type TreeConfig } from './kconfig/index.js';
import { GCC_ASM_PREDEFINES, GCC_C_PREDEFINES } from './predefined.js';
import type { CppConfig } from './preprocessor.js';
import type { SearchChain } from './include-search.js';

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

/** Reads a user .config given as text or as a path on disk. */
export function readDotConfig(config: string): string {
  if (config.includes('\n')) return config;
  try {
    return nodeFs.readFileSync(config, 'utf8');
  } catch (e) {
    throw new SeamlabError('CONFIG_NOT_FOUND', `cannot read the .config ${config}: ${(e as Error).message}`, 'give the path of a kernel .config file');
  }
}

function chainOf(flags: KbuildFlags): SearchChain {
  return { dirs: flags.includeDirs.map((spelled) => ({ spelled })), bracketStart: 0 };
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

  const config = configure(files, profile, dotConfig);
  const overlay = new OverlayFs(files, 'generated');
  const generated = new Map<string, string>();
  const put = (p: string, text: string): void => {
    overlay.set(p, text);
    generated.set(p, text);
  };
  put(AUTOCONF_HEADER, config.autoconf);
  for (const w of asmGenericWrappers(files, config.values)) put(w.path, w.content);

  const flagCache = new Map<string, KbuildFlags>();
  const flagsFor = (file: string): KbuildFlags => {
    const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '.';
    const stem = file.slice(file.lastIndexOf('/') + 1);
    const k = `${dir}/${stem}`;
    let f = flagCache.get(k);
    if (!f) {
      f = kbuildFlags(files, config.values, config.toolchain, file);
      flagCache.set(k, f);
    }
    return f;
  };

  // asm-offsets.c is compiled with c_flags: the same include chain and
  // forced includes, KBUILD_CPPFLAGS' defines, and no __ASSEMBLY__.
  const cFlags = flagsFor('arch/x86/kernel/asm-offsets.c');
  const cDefines = cFlags.defineLines.filter((l) => !/^#define __ASSEMBLY__\b/.test(l) && !/KBUILD_MOD(NAME|FILE)/.test(l));
  const asmOffsets = generateAsmOffsets(overlay, chainOf(cFlags), cFlags.forcedIncludes, GCC_C_PREDEFINES + cDefines.join('\n') + '\n', files);
  put(ASM_OFFSETS_HEADER, asmOffsets.header);

  const env: CppEnvironment = {
    files: overlay,
    generated,
    config,
    asmOffsets,
    flagsFor,
    cppConfig(file: string): CppConfig {
      const f = flagsFor(file);
      const forbidden = new Map<string, { message: string; hint: string; notes?: string[] }>();
      for (const o of asmOffsets.omitted.values()) {
        forbidden.set(o.name, {
          message: `${o.name} is an asm-offsets.h entry seamlab could not compute: ${o.reason}`,
          hint: 'the layout of this struct depends on constructs seamlab does not evaluate; report it with the struct named in the message',
          notes: [`${o.name} is defined by ${o.at.file}:${o.at.line} as ${o.text}`],
        });
      }
      return {
        mode: 'asm',
        chain: chainOf(f),
        forcedIncludes: f.forcedIncludes,
        predefines: GCC_ASM_PREDEFINES + f.defineLines.join('\n') + '\n',
        macroPrefixMap: f.macroPrefixMap,
        sourceDateEpoch: sourceDateEpoch(),
        forbiddenNames: forbidden,
      };
    },
    notes: [...config.notes],
  };
  perFs.set(key, env);
  return env;
}

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
