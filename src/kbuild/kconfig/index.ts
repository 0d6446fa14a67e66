/**
 * A tree's configuration for a profile (or a user's .config): the option
 * values and the `include/generated/autoconf.h` Kbuild would write for
 * them (scripts/kconfig/confdata.c: `#define CONFIG_X 1` for y,
 * `CONFIG_X_MODULE` for m, numbers as they are, hex with 0x, strings
 * quoted; options that are off are absent).
 */
import { createHash } from 'node:crypto';
import type { ReadonlyFs } from '../../support/vfs.js';
import { KconfigEvaluator } from './eval.js';
import { KconfigMacros } from './macros.js';
import { parseKconfig, type KconfigTree } from './parse.js';
import { featureOption, findProfile, parseDotConfig, solveProfile, type Feature } from './profiles.js';
import { GCC12_TOOLCHAIN, type Toolchain } from './toolchain.js';

export interface TreeConfig {
  /** Profile name, or "user .config". */
  source: string;
  /** Option values (without the CONFIG_ prefix) of every option that is set. */
  values: Map<string, string>;
  autoconf: string;
  /** Feature → option name in this tree (profiles only). */
  options: Partial<Record<Feature, string>>;
  notes: string[];
  kernelVersion: string;
  toolchain: Toolchain;
}

/** VERSION.PATCHLEVEL.SUBLEVEL[EXTRAVERSION] from the top Makefile. */
export function kernelVersion(files: ReadonlyFs): string {
  const mk = files.readFile('Makefile') ?? '';
  const get = (k: string): string => new RegExp(`^${k}\\s*=[ \\t]*(.*)$`, 'm').exec(mk)?.[1]?.trim() ?? '';
  const v = get('VERSION');
  const p = get('PATCHLEVEL');
  const s = get('SUBLEVEL');
  return `${v}${p ? `.${p}${s ? `.${s}` : ''}` : ''}${get('EXTRAVERSION')}`;
}

const treeCache = new WeakMap<ReadonlyFs, { tree: KconfigTree; macros: KconfigMacros }>();

/** Parses the tree's Kconfig (cached per file system). */
export function readKconfig(files: ReadonlyFs, toolchain: Toolchain = GCC12_TOOLCHAIN): { tree: KconfigTree; macros: KconfigMacros } {
  const hit = treeCache.get(files);
  if (hit) return hit;
  const env = { ...toolchain.kconfigEnv, SRCARCH: 'x86', ARCH: 'x86_64', srctree: '.', KERNELVERSION: kernelVersion(files) };
  const macros = new KconfigMacros(toolchain, env);
  const tree = parseKconfig(files, macros);
  const r = { tree, macros };
  treeCache.set(files, r);
  return r;
}

/**
 * Evaluates a profile, or a user's .config when `dotConfig` is given.
 * `dotConfig` is the text of the file.
 */
export function configure(files: ReadonlyFs, profileName: string, dotConfig?: string): TreeConfig {
  const { tree, macros } = readKconfig(files);
  let ev: KconfigEvaluator;
  let options: Partial<Record<Feature, string>> = {};
  const notes: string[] = [];
  if (dotConfig !== undefined) {
    const parsed = parseDotConfig(dotConfig, tree);
    ev = new KconfigEvaluator(tree, parsed.user);
    notes.push(...parsed.notes);
    for (const f of ['frame-pointer', 'sls', 'rethunk', 'ibt'] as Feature[]) {
      const o = featureOption(tree, f);
      if (o) options[f] = o;
    }
  } else {
    const solved = solveProfile(tree, findProfile(profileName));
    ev = solved.evaluator;
    options = solved.options;
    notes.push(...solved.notes);
  }
  if (tree.missingSources.length) notes.push(`${tree.missingSources.length} Kconfig file(s) sourced by the tree are not in seamlab's cache; their options count as unset (${tree.missingSources.slice(0, 4).join(', ')}${tree.missingSources.length > 4 ? ', …' : ''})`);
  for (const p of macros.unknownProbes) notes.push(`toolchain probe not modelled, answered "no": ${p.command} (${p.at.file}:${p.at.line})`);

  const values = new Map<string, string>();
  const lines: string[] = [];
  for (const s of tree.order) {
    const r = ev.calc(s.name);
    if (!r.write) continue;
    const t = s.type ?? 'bool';
    if (t === 'bool' || t === 'tristate') {
      if (r.value === 'y') lines.push(`#define CONFIG_${s.name} 1`);
      else if (r.value === 'm') lines.push(`#define CONFIG_${s.name}_MODULE 1`);
      else continue;
    } else if (t === 'string') lines.push(`#define CONFIG_${s.name} ${JSON.stringify(r.value)}`);
    else if (t === 'hex') {
      if (r.value === '') continue;
      lines.push(`#define CONFIG_${s.name} ${/^0[xX]/.test(r.value) ? r.value : `0x${r.value}`}`);
    } else {
      if (r.value === '') continue;
      lines.push(`#define CONFIG_${s.name} ${r.value}`);
    }
    values.set(s.name, r.value);
  }
  const header = ['/*', ' * Automatically generated file; DO NOT EDIT.', ` * ${tree.mainmenu ?? 'Linux Kernel Configuration'}`, ' */'];
  return {
    source: dotConfig !== undefined ? 'user .config' : profileName,
    values,
    autoconf: [...header, ...lines].join('\n') + '\n',
    options,
    notes,
    kernelVersion: kernelVersion(files),
    toolchain: GCC12_TOOLCHAIN,
  };
}

/** A short id of a configuration (for caches). */
export function configKey(profileName: string, dotConfig?: string): string {
  return dotConfig === undefined ? `profile:${profileName}` : `config:${createHash('sha1').update(dotConfig).digest('hex')}`;
}
