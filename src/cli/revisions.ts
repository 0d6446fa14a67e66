/**
 * `seamlab revisions [--json] [SPEC…]`: lists the built-in revisions with
 * their TDX entry points and prototypes; with specs, resolves each and shows
 * where it came from (patches, how they applied, whitespace damage, hunks
 * not applied and why).
 */
import type { Command } from 'commander';
import { isSeamlabError } from '../errors.js';
import type { BuiltinRevisionInfo } from '../intake/revision.js';
import type { Revision } from '../intake/types.js';
import { formatFunctions, formatProvenance, provenanceJson } from '../report/revision-report.js';
import { EXIT } from './exit-codes.js';
import { fitTextToStream } from '../report/table.js';
import { noFuzzOption, resolveOptionsOf } from './revision-options.js';

export { formatFunctions, formatProvenance } from '../report/revision-report.js';

export interface RevisionsOptions {
  json?: boolean;
  /** false for --no-fuzz. */
  fuzz?: boolean;
  cache?: string;
  cwd?: string;
}

function revisionJson(rev: Revision, info?: BuiltinRevisionInfo): Record<string, unknown> {
  return { name: rev.name, ...(info ? { description: info.description } : {}), provenance: provenanceJson(rev.provenance), functions: rev.functions };
}

/** The command's output (and exit code) for the given specs; no specs lists the built-ins. */
export async function runRevisions(specs: string[], opts: RevisionsOptions = {}): Promise<{ text: string; exitCode: number }> {
  const [{ listBuiltinRevisions, resolveRevision }, { documentHeader, errorObject, jsonText }] = await Promise.all([import('../intake/revision.js'), import('../report/json-schema.js')]);
  const ro = { cache: opts.cache, cwd: opts.cwd, ...resolveOptionsOf(opts) };
  const out: string[] = [];
  const json: Record<string, unknown>[] = [];
  let exitCode = 0;
  if (specs.length === 0) {
    for (const info of listBuiltinRevisions()) {
      let rev: Revision;
      try {
        rev = resolveRevision(info.name, ro);
      } catch (e) {
        if (!isSeamlabError(e)) throw e;
        exitCode = EXIT.userError;
        json.push({ name: info.name, description: info.description, error: errorObject(e) });
        out.push(`${info.name}  ${info.description}`, `  unavailable: ${e.message} [${e.code}]`, `  hint: ${e.hint}`, '');
        continue;
      }
      json.push(revisionJson(rev, info));
      out.push(`${info.name}  ${info.description}`, ...formatProvenance(rev, false), ...formatFunctions(rev.functions), '');
    }
  } else {
    for (const spec of specs) {
      const rev = resolveRevision(spec, ro);
      json.push(revisionJson(rev));
      out.push(spec, ...formatProvenance(rev, true), ...formatFunctions(rev.functions), '');
    }
  }
  return { text: opts.json ? jsonText({ ...documentHeader('revisions'), revisions: json }) : out.join('\n').trimEnd(), exitCode };
}

export function registerRevisions(program: Command): void {
  program
    .command('revisions')
    .description('list the built-in revisions (linux-6.1, linux-6.12, v3) with their TDX entry points, or resolve revision specs (TREE, BASE+PATCH[+PATCH…]) and show their provenance')
    .argument('[spec...]', 'revision specs to resolve: a built-in name, a kernel tree path, or BASE+PATCH[+PATCH…] (mails, mboxes, diffs)')
    .option('--json', 'a JSON document (format seamlab-revisions)')
    .addOption(noFuzzOption())
    .option('--wide', 'do not fit the text to the terminal width')
    .action(async (specs: string[], opts: { json?: boolean; fuzz?: boolean; wide?: boolean }) => {
      const r = await runRevisions(specs, opts);
      console.log(opts.json ? r.text : fitTextToStream(r.text, process.stdout, opts.wide));
      if (r.exitCode !== 0) process.exitCode = r.exitCode;
    });
}
