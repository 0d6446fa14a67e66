/**
 * `seamlab cpp REV FILE [--profile P | --config .config] [--map]`: prints a
 * .S file of a revision preprocessed exactly as Kbuild's gcc -E would (with
 * --map, each line's origin: file:line, the include chain and the cpp
 * macros expanded on it).
 *
 * `seamlab profiles [REV]`: lists the kconfig profiles; with a revision,
 * the option names each feature maps to in that tree, the derived options
 * that matter to the TDX assembly, and the evaluation notes.
 */
import type { Command } from 'commander';
import { formatPos } from '../support/source-location.js';
import { buildEnvironment, PROFILES, preprocess } from '../cpp/index.js';
import { FEATURE_OPTIONS, type Feature } from '../kbuild/kconfig/profiles.js';
import type { PreprocessedSource } from '../cpp/types.js';
import { resolveRevision } from '../intake/revision.js';

export interface CppCommandOptions {
  profile?: string;
  config?: string;
  map?: boolean;
  json?: boolean;
}

/** The text `seamlab cpp` prints. */
export function formatPreprocessed(src: PreprocessedSource, map: boolean): string {
  if (!map) return src.lines.join('\n') + (src.lines.length ? '\n' : '');
  const out: string[] = [];
  src.lines.forEach((text, i) => {
    const o = src.origins[i]!;
    const chain = o.includeStack.map((p) => ` <- ${formatPos(p)}`).join('');
    // In order of use (the cppStack is latest use first).
    const macros = o.cppStack.length ? ` [${o.cppStack.map((m) => m.macro).reverse().join(' ')}]` : '';
    out.push(`${formatPos(o.pos)}${chain}${macros}\n\t${text}`);
  });
  return out.join('\n') + (out.length ? '\n' : '');
}

export function runCpp(spec: string, file: string, opts: CppCommandOptions = {}): { stdout: string; stderr: string } {
  const rev = resolveRevision(spec);
  const src = preprocess(rev.files, file, { profile: opts.profile, config: opts.config });
  const stderr = (src.diagnostics ?? []).map((d) => `${formatPos(d.where.pos)}: warning: ${d.message}`).join('\n');
  const stdout = opts.json ? JSON.stringify(src, null, 2) + '\n' : formatPreprocessed(src, opts.map ?? false);
  return { stdout, stderr: stderr ? stderr + '\n' : '' };
}

/** The derived options worth showing for the TDX assembly. */
const SHOWN_OPTIONS = ['FUNCTION_ALIGNMENT', 'OBJTOOL', 'UNWINDER_ORC', 'UNWINDER_FRAME_POINTER', 'CALL_PADDING', 'MITIGATION_RETPOLINE', 'RETPOLINE', 'CALL_DEPTH_TRACKING', 'MITIGATION_CALL_DEPTH_TRACKING'];

export function runProfiles(spec?: string): string {
  const lines: string[] = [];
  if (!spec) {
    for (const p of PROFILES) {
      lines.push(`${p.name.padEnd(9)} ${p.description}`);
      const feats = Object.entries(p.features)
        .map(([f, on]) => (on ? f : `no-${f}`))
        .join(' ');
      lines.push(`${''.padEnd(9)} features: ${feats}`);
    }
    lines.push('', 'Feature option names (the first one the tree defines is used):');
    for (const [f, names] of Object.entries(FEATURE_OPTIONS)) lines.push(`  ${f.padEnd(14)} ${names.map((n) => `CONFIG_${n}`).join(' | ')}`);
    lines.push('', 'Run `seamlab profiles REV` to see what each profile sets in a revision.');
    return lines.join('\n');
  }
  const rev = resolveRevision(spec);
  lines.push(`${spec}`);
  for (const p of PROFILES) {
    const env = buildEnvironment(rev.files, { profile: p.name });
    const c = env.config;
    const set = (Object.keys(p.features) as Feature[])
      .map((f) => {
        const opt = c.options[f];
        if (!opt) return `${f}=absent`;
        return `CONFIG_${opt}=${c.values.get(opt) ?? 'n'}`;
      })
      .join(' ');
    const derived = SHOWN_OPTIONS.filter((o) => c.values.has(o)).map((o) => `CONFIG_${o}=${c.values.get(o)}`);
    lines.push(`  ${p.name.padEnd(9)} ${set}`);
    if (derived.length) lines.push(`  ${''.padEnd(9)} derived: ${derived.join(' ')}`);
    lines.push(`  ${''.padEnd(9)} asm-offsets.h: ${env.asmOffsets.entries.length} entries computed, ${env.asmOffsets.omitted.size} left out`);
    for (const n of c.notes) lines.push(`  ${''.padEnd(9)} note: ${n}`);
  }
  return lines.join('\n');
}

export function registerCpp(program: Command): void {
  program
    .command('cpp')
    .description('preprocess a .S file of a revision as Kbuild does (own C preprocessor; same tokens as gcc -E)')
    .argument('<rev>', 'revision: linux-6.1, linux-6.12, v3, a kernel tree path, or BASE+PATCH…')
    .argument('<file>', 'tree-relative path, e.g. arch/x86/virt/vmx/tdx/seamcall.S')
    .option('--profile <name>', 'kconfig profile (seamlab profiles lists them)', 'default')
    .option('--config <file>', 'use this kernel .config instead of a profile')
    .option('--map', 'show where each line comes from (file:line, include chain, cpp macros)')
    .option('--json', 'lines and origins as JSON')
    .action((rev: string, file: string, opts: CppCommandOptions) => {
      const r = runCpp(rev, file, opts);
      process.stdout.write(r.stdout);
      if (r.stderr) process.stderr.write(r.stderr);
    });
}

export function registerProfiles(program: Command): void {
  program
    .command('profiles')
    .description('list the kconfig profiles; with a revision, what each one sets in that tree')
    .argument('[rev]', 'revision to evaluate the profiles on')
    .action((rev: string | undefined) => {
      console.log(runProfiles(rev));
    });
}
