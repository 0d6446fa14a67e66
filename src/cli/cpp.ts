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
import type { Feature } from '../kbuild/kconfig/profiles.js';
import type { PreprocessedSource } from '../cpp/types.js';
import type { ResolveOptions } from '../intake/revision.js';
import { step } from '../support/progress.js';
import { noFuzzOption, resolveOptionsOf } from './revision-options.js';
import type { ProfileInTree, ProfilesReport } from '../report/profiles-report.js';

export interface CppCommandOptions {
  profile?: string;
  /** false for --no-fuzz. */
  fuzz?: boolean;
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

export async function runCpp(spec: string, file: string, opts: CppCommandOptions = {}): Promise<{ stdout: string; stderr: string }> {
  const [{ resolveRevision }, { preprocess }] = await Promise.all([import('../intake/revision.js'), import('../cpp/index.js')]);
  const rev = resolveRevision(spec, resolveOptionsOf(opts));
  const src = step(`preprocessing ${file}`, () => preprocess(rev.files, file, { profile: opts.profile, config: opts.config }));
  const stderr = (src.diagnostics ?? []).map((d) => `${formatPos(d.where.pos)}: warning: ${d.message}`).join('\n');
  let stdout: string;
  if (opts.json) {
    const { documentHeader, jsonText } = await import('../report/json-schema.js');
    stdout = jsonText({ ...documentHeader('cpp'), profile: opts.config === undefined ? opts.profile ?? 'default' : null, ...(opts.config !== undefined ? { config: opts.config } : {}), ...src }) + '\n';
  } else {
    stdout = formatPreprocessed(src, opts.map ?? false);
  }
  return { stdout, stderr: stderr ? stderr + '\n' : '' };
}

/** The derived options worth showing for the TDX assembly. */
const SHOWN_OPTIONS = ['FUNCTION_ALIGNMENT', 'OBJTOOL', 'UNWINDER_ORC', 'UNWINDER_FRAME_POINTER', 'CALL_PADDING', 'MITIGATION_RETPOLINE', 'RETPOLINE', 'CALL_DEPTH_TRACKING', 'MITIGATION_CALL_DEPTH_TRACKING'];

/** What `seamlab profiles [REV]` reports: the profiles and, for a revision, what each sets in its tree. */
export async function collectProfiles(spec?: string, resolve: ResolveOptions = {}): Promise<ProfilesReport> {
  const [{ buildEnvironment, PROFILES }, { FEATURE_OPTIONS }, { resolveRevision }] = await Promise.all([import('../cpp/index.js'), import('../kbuild/kconfig/profiles.js'), import('../intake/revision.js')]);
  const report: ProfilesReport = {
    profiles: PROFILES.map((p) => ({ name: p.name, description: p.description, features: { ...p.features } })),
    featureOptions: Object.fromEntries(Object.entries(FEATURE_OPTIONS).map(([f, names]) => [f, [...names]])),
  };
  if (spec === undefined) return report;
  const rev = resolveRevision(spec, resolve);
  report.revision = {
    name: spec,
    profiles: PROFILES.map((p) => {
      const env = buildEnvironment(rev.files, { profile: p.name });
      const c = env.config;
      const options: ProfileInTree['options'] = {};
      for (const f of Object.keys(p.features) as Feature[]) {
        const opt = c.options[f];
        options[f] = opt ? { option: opt, value: c.values.get(opt) ?? 'n' } : { option: null, value: 'absent' };
      }
      const derived = Object.fromEntries(SHOWN_OPTIONS.filter((o) => c.values.has(o)).map((o) => [o, c.values.get(o)!]));
      return { name: p.name, options, derived, asmOffsets: { computed: env.asmOffsets.entries.length, omitted: env.asmOffsets.omitted.size }, notes: [...c.notes] };
    }),
  };
  return report;
}

/** The text `seamlab profiles [REV]` prints. */
export async function runProfiles(spec?: string): Promise<string> {
  const { formatProfiles } = await import('../report/profiles-report.js');
  return formatProfiles(await collectProfiles(spec));
}

export function registerCpp(program: Command): void {
  program
    .command('cpp')
    .description('preprocess a .S file of a revision as Kbuild does (own C preprocessor; same tokens as gcc -E)')
    .argument('<rev>', 'revision: linux-6.1, linux-6.12, v3, a kernel tree path, or BASE+PATCH…')
    .argument('<file>', 'tree-relative path, e.g. arch/x86/virt/vmx/tdx/seamcall.S')
    .option('--profile <name>', 'kconfig profile (seamlab profiles lists them)', 'default')
    .option('--config <file>', 'use this kernel .config instead of a profile')
    .addOption(noFuzzOption())
    .option('--map', 'show where each line comes from (file:line, include chain, cpp macros)')
    .option('--json', 'a JSON document (format seamlab-cpp): lines and their origins')
    .action(async (rev: string, file: string, opts: CppCommandOptions) => {
      const r = await runCpp(rev, file, opts);
      process.stdout.write(r.stdout);
      if (r.stderr) process.stderr.write(r.stderr);
    });
}

export function registerProfiles(program: Command): void {
  program
    .command('profiles')
    .description('list the kconfig profiles; with a revision, what each one sets in that tree')
    .argument('[rev]', 'revision to evaluate the profiles on')
    .option('--json', 'a JSON document (format seamlab-profiles)')
    .addOption(noFuzzOption())
    .option('--wide', 'do not fit the text to the terminal width')
    .action(async (rev: string | undefined, opts: { json?: boolean; fuzz?: boolean; wide?: boolean }) => {
      const [r, { formatProfiles, profilesDocument }, { jsonText }, { fitTextToStream }] = await Promise.all([collectProfiles(rev, resolveOptionsOf(opts)), import('../report/profiles-report.js'), import('../report/json-schema.js'), import('../report/table.js')]);
      console.log(opts.json ? jsonText(profilesDocument(r)) : fitTextToStream(formatProfiles(r), process.stdout, opts.wide));
    });
}
