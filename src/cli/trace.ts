/**
 * `seamlab trace [REV] --fn NAME --scenario NAME|FILE [--profile P] [--on unicorn|silicon] [--format jsonl|text|html] [-o FILE]`
 * and `seamlab golden check|update [FILTER]`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { SeamlabError } from '../errors.js';
import type { TextStyle } from '../report/trace-text.js';
import { DEFAULT_BUDGET, DEFAULT_TIME_LIMIT_MS } from '../support/limits.js';
import { noFuzzOption, resolveOptionsOf } from './revision-options.js';
import { stdoutWriteError } from './stdout-errors.js';
import { outputError } from '../support/user-files.js';
import { allowCodeOption, scenarioLoadOptionsOf } from './scenario-options.js';
import { addOneRunOptions, type OneRunOptions } from './one-run-options.js';
import type { TraceStep } from '../trace/format.js';
import type { SiliconSession } from '../oracle/silicon.js';
import { ORACLE_BUDGET } from '../oracle/limits.js';

interface TraceOpts extends OneRunOptions {
  fuzz?: boolean;
  allowCode?: boolean;
  format?: 'jsonl' | 'text' | 'html';
  on: 'unicorn' | 'silicon';
  output?: string;
  color: boolean;
  budget?: string;
  timeLimit: string;
}

/** Text style for stdout: its width on a TTY, colour unless NO_COLOR or --no-color. */
export function terminalStyle(color: boolean, toFile: boolean): TextStyle {
  const tty = !toFile && process.stdout.isTTY === true;
  return { width: tty ? process.stdout.columns ?? 120 : Infinity, color: tty && color && !process.env.NO_COLOR };
}

/** Buffered synchronous writes to a file descriptor (a long trace streams without piling up in memory). */
class LineWriter {
  private buf = '';
  constructor(private readonly fd: number, private readonly target?: string) {}
  line(s: string): void {
    this.buf += s + '\n';
    if (this.buf.length >= 1 << 16) this.flush();
  }
  flush(): void {
    try {
      if (this.buf) fs.writeSync(this.fd, this.buf);
    } catch (e) {
      // A full disk or a closed pipe is the user's to fix, not a seamlab bug.
      throw this.fd === 1 ? stdoutWriteError(e) : outputError(this.target ?? 'output', 'trace output', e);
    }
    this.buf = '';
  }
}

export interface TraceCliDeps {
  /** Starts the silicon-oracle runner for `--on silicon` (default SiliconSession.open; tests give a stand-in). */
  openSilicon?: () => SiliconSession;
}

export function registerTrace(program: Command, deps: TraceCliDeps = {}): void {
  addOneRunOptions(program
    .command('trace')
    .description('record what one run does, instruction by instruction: registers and flags changed, memory read and written, SEAM calls, source lines'))
    .addOption(new Option('--on <executor>', 'where the run executes: unicorn (seamlab\'s emulator) or silicon (this CPU, single-stepped under ptrace: Linux on x86-64)').choices(['unicorn', 'silicon']).default('unicorn'))
    .addOption(new Option('--format <format>', 'jsonl (the seamlab-trace format), text, or html (one self-contained page to explore in a browser; default: text on a terminal, jsonl otherwise)').choices(['jsonl', 'text', 'html']))
    .option('-o, --output <file>', 'write to a file (written to a temporary file and renamed into place)')
    .option('--no-color', 'no colour in text output (NO_COLOR is honoured too)')
    .addOption(new Option('--budget <n>', `instruction budget (default ${DEFAULT_BUDGET}; ${ORACLE_BUDGET} --on silicon, where a step costs some 30 µs)`))
    .addOption(new Option('--time-limit <ms>', 'emulation time limit').default(String(DEFAULT_TIME_LIMIT_MS)))
    .addOption(noFuzzOption())
    .addOption(allowCodeOption())
    .action(async (revision: string, opts: TraceOpts) => {
      const budget = Number(opts.budget ?? (opts.on === 'silicon' ? ORACLE_BUDGET : DEFAULT_BUDGET));
      const [{ resolveRevision }, { resolveScenario }, { recordTrace }, { traceLine }, { columnsFor, renderHeader, renderStep, renderSummary }] = await Promise.all([
        import('../intake/revision.js'), import('../seam/scenario-file.js'), import('../trace/record.js'), import('../trace/jsonl.js'), import('../report/trace-text.js'),
      ]);
      const rev = resolveRevision(revision, resolveOptionsOf(opts));
      const fnName = opts.fn ?? (rev.functions.length === 1 ? rev.functions[0]!.name : undefined);
      if (!fnName) {
        throw new SeamlabError('TRACE_NO_FUNCTION', `${rev.name} has ${rev.functions.length} entry points; say which to trace`, `add --fn NAME (one of ${rev.functions.map((f) => f.name).join(', ')})`);
      }
      const fn = rev.functions.find((f) => f.name === fnName);
      if (!fn) throw new SeamlabError('RUN_UNKNOWN_FUNCTION', `${rev.name} has no TDX entry point named ${fnName}`, `pick one of ${rev.functions.map((f) => f.name).join(', ')}`);
      const scenario = await resolveScenario(opts.scenario, scenarioLoadOptionsOf(opts));
      const toFile = opts.output !== undefined;
      const format = opts.format ?? (!toFile && process.stdout.isTTY ? 'text' : 'jsonl');
      const style = terminalStyle(opts.color, toFile);
      const target = toFile ? path.resolve(opts.output!) : undefined;
      const tmp = target ? `${target}.${process.pid}.tmp` : undefined;
      let fd: number;
      try {
        fd = tmp ? fs.openSync(tmp, 'w') : 1;
      } catch (e) {
        throw new SeamlabError('TRACE_OUTPUT', `cannot write ${opts.output}: ${(e as Error).message}`, 'give -o a path in an existing, writable directory');
      }
      const out = new LineWriter(fd, opts.output);
      const steps: TraceStep[] = [];
      try {
        const trace = await recordTrace(
          {
            revision: rev, fn, scenario, profile: opts.profile, budget, timeLimitMs: Number(opts.timeLimit), on: opts.on,
            ...(deps.openSilicon ? { silicon: { open: deps.openSilicon } } : {}),
          },
          format === 'jsonl'
            ? { header: (h) => out.line(traceLine(h)), step: (s) => out.line(traceLine(s)) }
            // Text aligns its columns over all steps, and a page embeds them all: both collect them first.
            : { step: (s) => steps.push(s) },
        );
        if (format === 'jsonl') {
          out.line(traceLine(trace.summary));
        } else if (format === 'html') {
          // The source view is drawn from the listing of the build that ran (cached in this process by recordTrace).
          const [{ buildImage }, { renderTraceExplorer }] = await Promise.all([import('../image/build.js'), import('../report/trace-explorer.js')]);
          const { listing } = buildImage(rev.files, fn.sourceFile, { profile: opts.profile });
          out.line(renderTraceExplorer({ ...trace, steps }, { listing, readFile: (p) => rev.files.readFile(p) }).replace(/\n$/, ''));
        } else {
          const cols = columnsFor(steps);
          for (const l of renderHeader(trace.header)) out.line(l);
          for (const s of steps) for (const l of renderStep(s, cols, style)) out.line(l);
          for (const l of renderSummary(trace.summary)) out.line(l);
        }
        out.flush();
        if (tmp) {
          fs.closeSync(fd);
          fs.renameSync(tmp, target!);
        }
      } catch (e) {
        if (tmp) {
          try { fs.closeSync(fd); } catch { /* already closed */ }
          fs.rmSync(tmp, { force: true });
        }
        throw e;
      }
    });
}

export function registerGolden(program: Command, deps: { print?: (l: string) => void; root?: string } = {}): void {
  const print = deps.print ?? ((l: string) => console.log(l));
  const golden = program.command('golden').description('golden register traces of every built-in revision × entry point × scenario (fixtures/golden)');
  golden
    .command('check')
    .description('re-record every golden (or those whose path contains FILTER) and report the first divergence of each mismatch; exit 1 on any')
    .argument('[filter]', 'substring of the golden path, e.g. v3/__seamcall or /ud.jsonl')
    .option('--no-color', 'no colour')
    .action(async (filter: string | undefined, opts: { color: boolean }) => {
      const [{ checkGoldens }, { renderDivergence }] = await Promise.all([import('../trace/golden.js'), import('../report/golden-text.js')]);
      const style = terminalStyle(opts.color, false);
      const results = await checkGoldens(filter, deps.root);
      if (results.length === 0) throw new SeamlabError('GOLDEN_NONE', `no golden path contains ${JSON.stringify(filter)}`, 'give part of a path under fixtures/golden, e.g. v3/__seamcall');
      let bad = 0;
      for (const r of results) {
        if (r.status === 'ok') {
          if (r.sourceChanged) print(`ok    ${r.case.file} (inputs changed since recording; behaviour identical)`);
          continue;
        }
        bad++;
        if (r.status === 'missing') print(`MISSING ${r.case.file}: no golden; record it with \`seamlab golden update ${r.case.file}\``);
        else if (r.status === 'unreadable') print(`BAD   ${r.case.file}: ${r.error.message}`);
        else print([`FAIL  ${r.case.file}`, ...renderDivergence(r.expected!, r.actual, r.comparison!, style)].join('\n'));
      }
      print(`${results.length - bad} of ${results.length} golden trace${results.length === 1 ? '' : 's'} match${bad ? `; ${bad} do not` : ''}`);
      if (bad) process.exitCode = 1;
    });
  golden
    .command('update')
    .description('re-record goldens and rewrite those that changed (refuses where input files changed, unless --accept-source-change)')
    .argument('[filter]', 'substring of the golden path')
    .option('--accept-source-change', 'rewrite goldens whose input files (by git blob id) changed since they were recorded')
    .action(async (filter: string | undefined, opts: { acceptSourceChange?: boolean }) => {
      const { updateGoldens } = await import('../trace/golden.js');
      const results = await updateGoldens(filter, { ...(opts.acceptSourceChange ? { acceptSourceChange: true } : {}), ...(deps.root ? { root: deps.root } : {}) });
      const written = results.filter((r) => r.action === 'written');
      const refused = results.filter((r) => r.action === 'refused');
      for (const r of written) print(`wrote   ${r.case.file}`);
      for (const r of refused) print(`refused ${r.case.file}: ${r.reason}`);
      print(`${written.length} written, ${results.length - written.length - refused.length} unchanged, ${refused.length} refused`);
      if (refused.length) process.exitCode = 1;
    });
}
