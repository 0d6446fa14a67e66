/**
 * The Debug Adapter Protocol front end of the debugger core (`seamlab dap`,
 * for VS Code and other DAP clients), on `@vscode/debugadapter`'s session
 * class. One thread (the run); frame 0 is the line shown at RIP, the GAS
 * expansions are frames below it, then the function. Scopes: the registers
 * (RFLAGS bits as children), the call's arguments (structs by field), the
 * last SEAM call. Steps by line or instruction, forwards and backwards;
 * source, function, instruction, data (watch) and "exception" (every SEAM
 * call, exception-table fixups) breakpoints; disassembly, memory, and
 * evaluation — in the debug console, gdb commands too (`info seam`,
 * `x/6gx out`), run by the terminal front end.
 *
 * Messages are read by our own bounded reader (framing.ts) and handed to
 * the session; responses go out through the session's writer.
 */
import type { Writable } from 'node:stream';
import { DebugSession, Handles, InitializedEvent, OutputEvent, StoppedEvent } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { z } from 'zod';
import { formatError, isSeamlabError, SeamlabError } from '../../errors.js';
import { leafName, statusName } from '../../seam/codes.js';
import { hexU64 } from '../../support/format.js';
import { DISPLAY_ORDER, RFLAGS } from '../../support/registers.js';
import { formatPos } from '../../support/source-location.js';
import { registerRows, runEndText } from '../../report/debug-text.js';
import type { Debugger } from '../debugger.js';
import { ExpressionError } from '../expression.js';
import { DebugRepl } from '../repl.js';
import type { Frame, StopEvent } from '../types.js';
import { SourcePaths } from './sources.js';

const THREAD = 1;
const MAX_READ = 1 << 20;

/** The launch configuration (launch.json `"type": "seamlab"` or any client). */
export const launchSchema = z.object({
  revision: z.string().min(1).default('v3'),
  function: z.string().min(1).optional(),
  scenario: z.string().min(1).default('success'),
  profile: z.string().min(1).default('default'),
  stopOnEntry: z.boolean().default(false),
  /** As --allow-code: a YAML/JSON scenario may load a handler module (code). */
  allowCode: z.boolean().default(false),
  budget: z.number().int().positive().optional(),
  timeLimitMs: z.number().int().positive().optional(),
}).passthrough();
export type LaunchConfig = z.input<typeof launchSchema>;

/** Opens a debugger for a launch configuration (the CLI passes the same opener the REPL uses). */
export type DebuggerOpener = (config: z.output<typeof launchSchema>) => Promise<Debugger>;

type VarRef = { kind: 'registers' } | { kind: 'rflags' } | { kind: 'args' } | { kind: 'struct'; param: string } | { kind: 'seam' } | { kind: 'seam-regs'; which: 'in' | 'out' };

function parseAddress(ref: string | undefined): bigint {
  if (!ref || !/^(0x[0-9a-f]+|\d+)$/i.test(ref.trim())) throw new SeamlabError('DAP_BAD_REFERENCE', `not a memory reference: ${JSON.stringify(ref)}`, 'memory references are addresses like 0xffffffff81000000');
  return BigInt(ref.trim());
}

function stopReasonText(ev: StopEvent): { reason: string; description?: string } {
  switch (ev.reason) {
    case 'entry': return { reason: 'entry' };
    case 'step': return { reason: 'step' };
    case 'breakpoint': return { reason: 'breakpoint' };
    case 'watchpoint': return { reason: 'data breakpoint' };
    case 'seam-call': return { reason: 'breakpoint', description: 'Paused on a SEAM call (before it is served)' };
    case 'fixup': return { reason: 'breakpoint', description: 'Paused at an exception-table fixup' };
    case 'interrupted': return { reason: 'pause' };
    case 'start-of-run': return { reason: 'step', description: 'No more reverse-execution history: at the start of the run' };
    case 'exited': return { reason: 'exited', description: `Run ended: ${ev.result ? runEndText(ev.result) : ev.end?.kind ?? 'ended'} (step back to look again)` };
  }
}

export class SeamlabDebugSession extends DebugSession {
  private d: Debugger | undefined;
  private sources: SourcePaths | undefined;
  private config: z.output<typeof launchSchema> | undefined;
  private handles = new Handles<VarRef>();
  private readonly lineBps = new Map<string, number[]>();
  private instructionBps: number[] = [];
  private functionBps: number[] = [];
  private dataWatches: number[] = [];
  private seamCatch: number | undefined;
  private running: Promise<void> | undefined;
  private repl: DebugRepl | undefined;
  private replOutput: string[] = [];

  constructor(private readonly openDebugger: DebuggerOpener, private readonly tmpRoot?: string) {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
  }

  /** Starts writing responses to `out` (reading is the caller's: see runAdapter). */
  attachOutput(out: Writable): void {
    // The session's writer is its `_writableStream`; `start` would also read, so set it directly.
    (this as unknown as { _writableStream: Writable })._writableStream = out;
  }

  close(): void {
    this.d?.close();
    this.d = undefined;
  }

  /** Every request goes through here: a user error becomes an error response, never a crash. */
  private guard<R extends DebugProtocol.Response>(response: R, work: () => void | Promise<void>): void {
    const fail = (e: unknown) => {
      const message = isSeamlabError(e) ? `${e.message} (${e.hint})` : e instanceof Error ? e.message : String(e);
      this.sendErrorResponse(response, { id: 1, format: message.replace(/[{}]/g, ''), showUser: true });
    };
    try {
      const r = work();
      if (r instanceof Promise) r.catch(fail);
    } catch (e) {
      fail(e);
    }
  }

  private get dbg(): Debugger {
    if (!this.d) throw new SeamlabError('DAP_NOT_LAUNCHED', 'no program is being debugged', 'send a launch request first');
    return this.d;
  }

  // ---- start-up ---------------------------------------------------------------------

  protected override initializeRequest(response: DebugProtocol.InitializeResponse): void {
    response.body = {
      supportsConfigurationDoneRequest: true,
      supportsStepBack: true,
      supportsDisassembleRequest: true,
      supportsReadMemoryRequest: true,
      supportsSteppingGranularity: true,
      supportsInstructionBreakpoints: true,
      supportsDataBreakpoints: true,
      supportsFunctionBreakpoints: true,
      supportsEvaluateForHovers: true,
      supportsSetVariable: true,
      supportsRestartRequest: true,
      supportsTerminateRequest: true,
      exceptionBreakpointFilters: [
        { filter: 'seamcall', label: 'Every SEAMCALL/TDCALL', description: 'Pause before each SEAM call is served', default: false },
        { filter: 'fixup', label: 'Exception-table fixups', description: 'Pause where execution continues after a #UD/#GP/#PF went through __ex_table', default: false },
      ],
    };
    this.sendResponse(response);
  }

  protected override launchRequest(response: DebugProtocol.LaunchResponse, args: DebugProtocol.LaunchRequestArguments): void {
    this.guard(response, async () => {
      const parsed = launchSchema.safeParse(args ?? {});
      if (!parsed.success) {
        throw new SeamlabError('DAP_BAD_LAUNCH', `bad launch configuration: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`).join('; ')}`, 'give revision, function, scenario, profile, stopOnEntry');
      }
      this.close();
      this.config = parsed.data;
      const d = await this.openDebugger(parsed.data);
      this.d = d;
      this.sources = new SourcePaths(d.revision, this.tmpRoot);
      this.repl = new DebugRepl(d, (l) => this.replOutput.push(l));
      this.sendResponse(response);
      this.sendEvent(new InitializedEvent());
    });
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.guard(response, () => {
      this.sendResponse(response);
      if (!this.d) return;
      if (this.config?.stopOnEntry) this.reportStop(this.dbg.stopEvent());
      else this.runAsync();
    });
  }

  protected override disconnectRequest(response: DebugProtocol.DisconnectResponse): void {
    this.close();
    this.sendResponse(response);
  }

  protected override terminateRequest(response: DebugProtocol.TerminateResponse): void {
    this.close();
    this.sendResponse(response);
  }

  protected override restartRequest(response: DebugProtocol.RestartResponse): void {
    this.guard(response, () => {
      const ev = this.dbg.restart();
      this.sendResponse(response);
      this.reportStop(ev);
    });
  }

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    response.body = { threads: this.d ? [{ id: THREAD, name: `${this.d.fn.name} (${this.d.revision.name} × ${this.d.scenario.name})` }] : [] };
    this.sendResponse(response);
  }

  // ---- stops -----------------------------------------------------------------------------

  private reportStop(ev: StopEvent): void {
    this.handles.reset();
    const { reason, description } = stopReasonText(ev);
    const e: DebugProtocol.StoppedEvent = new StoppedEvent(reason, THREAD); // the protocol's body type: the class declares only `reason`
    e.body.allThreadsStopped = true;
    if (description) e.body.description = description;
    if (ev.breakpointIds?.length) e.body.hitBreakpointIds = ev.breakpointIds;
    if (ev.watch) {
      const w = this.dbg.watchpoints().find((x) => x.id === ev.watch!.id);
      e.body.hitBreakpointIds = [...(e.body.hitBreakpointIds ?? []), ev.watch.id];
      e.body.text = `${w?.label ?? 'watch'}: ${hexU64(ev.watch.old)} → ${hexU64(ev.watch.new)}`;
    }
    if (ev.reason === 'exited') this.sendEvent(new OutputEvent(`${description}\n`, 'console'));
    this.sendEvent(e);
  }

  /** Continues in the background (a `pause` request interrupts it). */
  private runAsync(): void {
    const d = this.dbg;
    this.running = (async () => {
      try {
        const ev = await d.continueAsync();
        if (this.d === d) this.reportStop(ev);
      } catch (e) {
        this.sendEvent(new OutputEvent(`${isSeamlabError(e) ? formatError(e) : String(e)}\n`, 'stderr'));
      } finally {
        this.running = undefined;
      }
    })();
  }

  private move(response: DebugProtocol.Response, op: (d: Debugger) => StopEvent): void {
    this.guard(response, () => {
      if (this.running) throw new SeamlabError('DAP_RUNNING', 'the run is going', 'pause it first');
      const ev = op(this.dbg);
      this.sendResponse(response);
      this.reportStop(ev);
    });
  }

  protected override continueRequest(response: DebugProtocol.ContinueResponse): void {
    this.guard(response, () => {
      if (this.running) throw new SeamlabError('DAP_RUNNING', 'the run is going', 'pause it first');
      void this.dbg; // the getter throws DAP_NOT_LAUNCHED before a launch
      response.body = { allThreadsContinued: true };
      this.sendResponse(response);
      this.runAsync();
    });
  }

  protected override pauseRequest(response: DebugProtocol.PauseResponse): void {
    this.guard(response, () => {
      this.dbg.interrupt();
      this.sendResponse(response);
    });
  }

  protected override nextRequest(response: DebugProtocol.NextResponse, args: DebugProtocol.NextArguments): void {
    this.move(response, (d) => (args?.granularity === 'instruction' ? d.stepInstruction() : d.nextLine()));
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse, args: DebugProtocol.StepInArguments): void {
    this.move(response, (d) => (args?.granularity === 'instruction' ? d.stepInstruction() : d.stepLine()));
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse): void {
    this.move(response, (d) => d.stepOut());
  }

  protected override stepBackRequest(response: DebugProtocol.StepBackResponse, args: DebugProtocol.StepBackArguments): void {
    this.move(response, (d) => (args?.granularity === 'instruction' ? d.reverseStepInstruction() : d.reverseNextLine()));
  }

  protected override reverseContinueRequest(response: DebugProtocol.ReverseContinueResponse): void {
    this.move(response, (d) => d.reverseContinue());
  }

  // ---- breakpoints ------------------------------------------------------------------------

  private imageFiles(): string[] {
    return [...this.dbg.map.linesToAddresses().keys()];
  }

  private sourceOf(treePath: string): DebugProtocol.Source {
    const p = this.sources!.clientPath(treePath);
    const name = treePath.slice(treePath.lastIndexOf('/') + 1);
    return p ? { name, path: p } : { name, presentationHint: 'deemphasize' };
  }

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    this.guard(response, () => {
      const d = this.dbg;
      const clientPath = args?.source?.path;
      if (typeof clientPath !== 'string') throw new SeamlabError('DAP_BAD_SOURCE', 'setBreakpoints needs source.path', 'breakpoints are set in files');
      for (const id of this.lineBps.get(clientPath) ?? []) d.removeBreakpoint(id);
      const tree = this.sources!.treePath(clientPath, this.imageFiles());
      const wanted = Array.isArray(args.breakpoints) ? args.breakpoints : (args.lines ?? []).map((line) => ({ line }));
      const ids: number[] = [];
      const out: DebugProtocol.Breakpoint[] = [];
      for (const b of wanted) {
        const line = Number(b?.line);
        if (!tree || !Number.isInteger(line) || line < 1) {
          out.push({ verified: false, ...(Number.isInteger(line) ? { line } : {}), message: tree ? 'not a line number' : `no code in this image comes from ${clientPath}` });
          continue;
        }
        const bp = d.addBreakpoint({ kind: 'line', file: tree, line });
        ids.push(bp.id);
        out.push({
          id: bp.id, verified: bp.verified, line: bp.movedTo?.line ?? line, source: { ...args.source, path: clientPath },
          ...(bp.message ? { message: bp.message } : {}),
          ...(bp.addresses[0] !== undefined ? { instructionReference: hexU64(bp.addresses[0]) } : {}),
        });
      }
      this.lineBps.set(clientPath, ids);
      response.body = { breakpoints: out };
      this.sendResponse(response);
    });
  }

  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    this.guard(response, () => {
      const d = this.dbg;
      for (const id of this.functionBps) d.removeBreakpoint(id);
      this.functionBps = [];
      const out = (Array.isArray(args?.breakpoints) ? args.breakpoints : []).map((b) => {
        const bp = d.addBreakpoint({ kind: 'function', name: String(b?.name ?? '') });
        this.functionBps.push(bp.id);
        return { id: bp.id, verified: bp.verified, ...(bp.message ? { message: bp.message } : {}) };
      });
      response.body = { breakpoints: out };
      this.sendResponse(response);
    });
  }

  protected override setExceptionBreakPointsRequest(response: DebugProtocol.SetExceptionBreakpointsResponse, args: DebugProtocol.SetExceptionBreakpointsArguments): void {
    this.guard(response, () => {
      const d = this.dbg;
      const filters = Array.isArray(args?.filters) ? args.filters : [];
      if (this.seamCatch !== undefined) d.removeBreakpoint(this.seamCatch);
      this.seamCatch = undefined;
      if (filters.includes('seamcall')) this.seamCatch = d.addBreakpoint({ kind: 'seam-call' }).id;
      d.stopOnFixup = filters.includes('fixup');
      this.sendResponse(response);
    });
  }

  protected override setInstructionBreakpointsRequest(response: DebugProtocol.SetInstructionBreakpointsResponse, args: DebugProtocol.SetInstructionBreakpointsArguments): void {
    this.guard(response, () => {
      const d = this.dbg;
      for (const id of this.instructionBps) d.removeBreakpoint(id);
      this.instructionBps = [];
      const out = (Array.isArray(args?.breakpoints) ? args.breakpoints : []).map((b) => {
        let address: bigint;
        try {
          address = parseAddress(b?.instructionReference) + BigInt(Number.isInteger(b?.offset) ? b.offset! : 0);
        } catch (e) {
          return { verified: false, message: (e as Error).message };
        }
        const bp = d.addBreakpoint({ kind: 'address', address: BigInt.asUintN(64, address) });
        this.instructionBps.push(bp.id);
        return { id: bp.id, verified: bp.verified, instructionReference: hexU64(address), ...(bp.message ? { message: bp.message } : {}) };
      });
      response.body = { breakpoints: out };
      this.sendResponse(response);
    });
  }

  protected override dataBreakpointInfoRequest(response: DebugProtocol.DataBreakpointInfoResponse, args: DebugProtocol.DataBreakpointInfoArguments): void {
    this.guard(response, () => {
      const d = this.dbg;
      const ref = args?.variablesReference !== undefined ? this.handles.get(args.variablesReference) : undefined;
      let expression = String(args?.name ?? '');
      if (ref?.kind === 'registers') expression = `$${expression}`;
      else if (ref?.kind === 'struct') expression = `${ref.param}->${expression}`;
      else if (ref && ref.kind !== 'args') {
        response.body = { dataId: null, description: 'only registers and struct fields can be watched' };
        return this.sendResponse(response);
      }
      let memory: boolean;
      try {
        const v = d.evaluateValue(expression);
        if (!v.lvalue) throw new Error('not a register or memory');
        memory = v.lvalue.kind === 'memory';
      } catch {
        response.body = { dataId: null, description: `${expression} cannot be watched` };
        return this.sendResponse(response);
      }
      response.body = { dataId: expression, description: expression, accessTypes: memory ? ['write', 'read', 'readWrite'] : ['write'], canPersist: false };
      this.sendResponse(response);
    });
  }

  protected override setDataBreakpointsRequest(response: DebugProtocol.SetDataBreakpointsResponse, args: DebugProtocol.SetDataBreakpointsArguments): void {
    this.guard(response, () => {
      const d = this.dbg;
      for (const id of this.dataWatches) d.removeWatchpoint(id);
      this.dataWatches = [];
      const out = (Array.isArray(args?.breakpoints) ? args.breakpoints : []).map((b) => {
        const access = b?.accessType === 'read' ? 'read' : b?.accessType === 'readWrite' ? 'access' : 'write';
        try {
          const w = d.addWatchpoint({ kind: 'expression', expression: String(b?.dataId ?? ''), access });
          this.dataWatches.push(w.id);
          return { id: w.id, verified: true, description: w.label };
        } catch (e) {
          return { verified: false, message: isSeamlabError(e) ? e.message : String(e) };
        }
      });
      response.body = { breakpoints: out };
      this.sendResponse(response);
    });
  }

  // ---- frames and variables -------------------------------------------------------------------

  private frameName(f: Frame): string {
    switch (f.kind) {
      case 'statement': return `${f.name}: ${f.text}`;
      case 'macro': return `${f.text}  (.macro ${f.name}${f.counter !== undefined ? `, \\@=${f.counter}` : ''})`;
      case 'function': return f.name;
    }
  }

  protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): void {
    this.guard(response, () => {
      const frames = this.dbg.backtrace();
      const start = Number.isInteger(args?.startFrame) ? args.startFrame! : 0;
      const count = Number.isInteger(args?.levels) && args.levels! > 0 ? args.levels! : frames.length;
      response.body = {
        totalFrames: frames.length,
        stackFrames: frames.slice(start, start + count).map((f) => ({
          id: f.index + 1, name: this.frameName(f), line: f.location?.pos.line ?? 0, column: f.location ? 1 : 0,
          ...(f.location ? { source: this.sourceOf(f.location.pos.file) } : {}),
          instructionPointerReference: hexU64(f.address),
          ...(f.kind === 'function' ? { presentationHint: 'label' as const } : {}),
        })),
      };
      this.sendResponse(response);
    });
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse): void {
    this.guard(response, () => {
      const d = this.dbg;
      const scopes: DebugProtocol.Scope[] = [
        { name: 'Registers', presentationHint: 'registers', variablesReference: this.handles.create({ kind: 'registers' }), expensive: false },
        { name: 'Arguments', presentationHint: 'arguments', variablesReference: this.handles.create({ kind: 'args' }), expensive: false },
      ];
      if (d.seamCalls().length) scopes.push({ name: 'Last SEAM call', variablesReference: this.handles.create({ kind: 'seam' }), expensive: false });
      response.body = { scopes };
      this.sendResponse(response);
    });
  }

  protected override variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): void {
    this.guard(response, () => {
      const ref = this.handles.get(args?.variablesReference);
      response.body = { variables: ref ? this.variables(ref) : [] };
      this.sendResponse(response);
    });
  }

  private variables(ref: VarRef): DebugProtocol.Variable[] {
    const d = this.dbg;
    const v = (name: string, value: bigint, extra: Partial<DebugProtocol.Variable> = {}): DebugProtocol.Variable => ({ name, value: hexU64(value), variablesReference: 0, ...extra });
    switch (ref.kind) {
      case 'registers': {
        const cpu = d.registers();
        return registerRows(cpu, (a) => d.map.symbolAt(a)).map(([name, value, natural]) => {
          const reg = name === 'eflags' ? 'rflags' : name;
          return v(reg, value, {
            evaluateName: `$${reg}`, ...(reg === 'rflags' ? { variablesReference: this.handles.create({ kind: 'rflags' }), value: `${hexU64(value)} ${natural}` } : {}),
            ...(reg === 'rip' ? { value: natural, memoryReference: hexU64(value) } : {}),
            ...(reg === 'rsp' || reg === 'rbp' ? { memoryReference: hexU64(value) } : {}),
          });
        });
      }
      case 'rflags': {
        const f = d.registers().rflags;
        return (Object.keys(RFLAGS) as (keyof typeof RFLAGS)[]).map((bit) => ({ name: bit, value: (f & RFLAGS[bit]) !== 0n ? '1' : '0', variablesReference: 0 }));
      }
      case 'args':
        return d.params().map((p) => p.struct
          ? v(p.name, p.value, { value: `(struct ${p.struct.name} *) ${hexU64(p.value)}`, variablesReference: this.handles.create({ kind: 'struct', param: p.name }), memoryReference: hexU64(p.value), evaluateName: p.name })
          : v(p.name, p.value, { value: p.role === 'null' ? 'NULL' : hexU64(p.value), type: `${p.role} in ${p.register}` }));
      case 'struct': {
        const p = d.params().find((x) => x.name === ref.param);
        return (p?.struct?.fields ?? []).map((f) => v(f.name, f.value, { evaluateName: f.path, memoryReference: hexU64(f.address), type: `u${f.size * 8} @ +${f.offset}` }));
      }
      case 'seam': {
        const c = d.seamCalls()[d.seamCalls().length - 1];
        if (!c) return [];
        const o = c.outcome;
        const leaf = leafName(c.kind, c.regsIn.rax);
        const status = o.kind === 'return' ? `${hexU64(o.rax)}${statusName(o.rax) ? ` ${statusName(o.rax)}` : ''}` : o.kind === 'fault' ? `#${o.vector}` : o.kind;
        return [
          { name: 'call', value: `${c.kind.toUpperCase()} #${c.index} at ${hexU64(c.address)}${c.location ? ` (${formatPos(c.location.location.pos)})` : ''}`, variablesReference: 0 },
          { name: 'leaf', value: `${hexU64(c.regsIn.rax)}${leaf ? ` ${leaf}` : ''}`, variablesReference: 0 },
          { name: 'handler', value: `${c.handler}${o.note ? ` (${o.note})` : ''}`, variablesReference: 0 },
          { name: 'outcome', value: o.kind === 'return' ? status : status, variablesReference: 0 },
          { name: 'path', value: c.path, variablesReference: 0 },
          { name: 'in', value: 'registers given to the SEAM side', variablesReference: this.handles.create({ kind: 'seam-regs', which: 'in' }) },
          { name: 'out', value: 'registers after the call', variablesReference: this.handles.create({ kind: 'seam-regs', which: 'out' }) },
        ];
      }
      case 'seam-regs': {
        const c = d.seamCalls()[d.seamCalls().length - 1];
        if (!c) return [];
        const regs = ref.which === 'in' ? c.regsIn : c.regsOut;
        return [...DISPLAY_ORDER.map((r) => v(r, regs[r])), v('rflags', ref.which === 'in' ? c.rflagsIn : c.rflagsOut)];
      }
    }
  }

  protected override setVariableRequest(response: DebugProtocol.SetVariableResponse, args: DebugProtocol.SetVariableArguments): void {
    this.guard(response, () => {
      const d = this.dbg;
      const ref = this.handles.get(args?.variablesReference);
      const expr = ref?.kind === 'registers' ? `$${args.name}` : ref?.kind === 'struct' ? `${ref.param}->${args.name}` : undefined;
      if (!expr) throw new SeamlabError('DAP_READ_ONLY', `${args?.name} cannot be changed here`, 'change registers or struct fields');
      const value = d.evaluate(String(args.value)).value;
      d.assign(expr, value);
      response.body = { value: hexU64(d.evaluate(expr).value) };
      this.sendResponse(response);
    });
  }

  // ---- memory, disassembly, evaluation ----------------------------------------------------------

  protected override readMemoryRequest(response: DebugProtocol.ReadMemoryResponse, args: DebugProtocol.ReadMemoryArguments): void {
    this.guard(response, () => {
      const d = this.dbg;
      const address = BigInt.asUintN(64, parseAddress(args?.memoryReference) + BigInt(Number.isInteger(args?.offset) ? args.offset! : 0));
      const count = Math.max(0, Math.min(MAX_READ, Number.isInteger(args?.count) ? args.count : 0));
      const whole = d.readMemory(address, count);
      let bytes: Uint8Array;
      if (whole) bytes = whole;
      else {
        // The readable prefix, byte by byte up to the first unmapped one.
        const part: number[] = [];
        for (let i = 0; i < count; i++) {
          const b = d.readMemory(address + BigInt(i), 1);
          if (!b) break;
          part.push(b[0]!);
        }
        bytes = Uint8Array.from(part);
      }
      response.body = { address: hexU64(address), data: Buffer.from(bytes).toString('base64'), ...(bytes.length < count ? { unreadableBytes: count - bytes.length } : {}) };
      this.sendResponse(response);
    });
  }

  protected override disassembleRequest(response: DebugProtocol.DisassembleResponse, args: DebugProtocol.DisassembleArguments): void {
    this.guard(response, () => {
      const d = this.dbg;
      const address = BigInt.asUintN(64, parseAddress(args?.memoryReference) + BigInt(Number.isInteger(args?.offset) ? args.offset! : 0));
      const count = Math.max(0, Math.min(100_000, Number.isInteger(args?.instructionCount) ? args.instructionCount : 0));
      const offset = Number.isInteger(args?.instructionOffset) ? args.instructionOffset! : 0;
      let lastFile: string | undefined;
      response.body = {
        instructions: d.disassemble(address, offset, count).map((i) => {
          const ins: DebugProtocol.DisassembledInstruction = { address: hexU64(i.address), instruction: i.text };
          if (!i.valid) {
            ins.presentationHint = 'invalid';
            return ins;
          }
          ins.instructionBytes = Buffer.from(i.bytes).toString('hex').replace(/(..)(?=.)/g, '$1 ');
          if (i.symbol) ins.symbol = i.symbol;
          if (i.location) {
            ins.line = i.location.pos.line;
            if (i.location.pos.file !== lastFile) ins.location = this.sourceOf(i.location.pos.file);
            lastFile = i.location.pos.file;
          }
          return ins;
        }),
      };
      this.sendResponse(response);
    });
  }

  protected override evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): void {
    this.guard(response, () => {
      const d = this.dbg;
      const expression = String(args?.expression ?? '');
      try {
        const v = d.evaluateValue(expression);
        const ref = v.type.kind === 'pointer' ? v.value : v.lvalue?.kind === 'memory' ? v.lvalue.address : undefined;
        response.body = { result: `${hexU64(v.value)} (${v.value})`, variablesReference: 0, ...(ref !== undefined ? { memoryReference: hexU64(ref) } : {}) };
        this.sendResponse(response);
      } catch (e) {
        // In the debug console, gdb commands run through the terminal front end (`info seam`, `x/6gx out`, `bt`).
        if (args?.context !== 'repl' || !(e instanceof ExpressionError) || !this.repl) throw e;
        if (this.running) throw new SeamlabError('DAP_RUNNING', 'the run is going', 'pause it first');
        const before = d.position;
        const beforeRip = d.registers().rip;
        this.replOutput = [];
        const done = this.repl.execute(expression);
        void done.then(() => {
          response.body = { result: this.replOutput.join('\n'), variablesReference: 0 };
          this.sendResponse(response);
          if (d.position !== before || d.registers().rip !== beforeRip) this.reportStop(d.stopEvent());
        }, (err: unknown) => this.sendErrorResponse(response, { id: 1, format: String(err).replace(/[{}]/g, ''), showUser: true }));
      }
    });
  }
}
