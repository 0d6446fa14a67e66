/**
 * A minimal Debug Adapter Protocol client for tests: spawns `node
 * dist/seamlab.js dap`, frames requests with Content-Length headers and
 * parses the adapter's output with its own small reader (independent of
 * the adapter's), so the wire format itself is under test.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import type { DebugProtocol as P } from '@vscode/debugprotocol';

export interface DapMessage {
  seq: number;
  type: 'response' | 'event' | 'request';
  command?: string;
  event?: string;
  request_seq?: number;
  success?: boolean;
  message?: string;
  body?: unknown;
}

/** What the adapter answers to each request the tests send: the protocol's types (the tests check the values). */
export interface DapResponses {
  initialize: P.InitializeResponse; launch: P.LaunchResponse; configurationDone: P.ConfigurationDoneResponse;
  setBreakpoints: P.SetBreakpointsResponse; dataBreakpointInfo: P.DataBreakpointInfoResponse; setDataBreakpoints: P.SetDataBreakpointsResponse;
  threads: P.ThreadsResponse; stackTrace: P.StackTraceResponse; scopes: P.ScopesResponse; variables: P.VariablesResponse;
  evaluate: P.EvaluateResponse; readMemory: P.ReadMemoryResponse; disassemble: P.DisassembleResponse;
  next: P.NextResponse; stepBack: P.StepBackResponse; continue: P.ContinueResponse; reverseContinue: P.ReverseContinueResponse;
  disconnect: P.DisconnectResponse;
}

/** The events the tests wait for. */
export interface DapEvents {
  initialized: P.InitializedEvent; stopped: P.StoppedEvent; output: P.OutputEvent; terminated: P.TerminatedEvent; exited: P.ExitedEvent;
}

const ROOT = path.resolve(import.meta.dirname, '../..');

export class DapClient {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly received: DapMessage[] = [];
  stderr = '';
  private buf = Buffer.alloc(0);
  private seq = 1;
  private waiters: { test: (m: DapMessage) => boolean; resolve: (m: DapMessage) => void }[] = [];
  readonly exited: Promise<number | null>;

  constructor(args: string[] = ['dap'], env: NodeJS.ProcessEnv = {}) {
    this.proc = spawn(process.execPath, [path.join(ROOT, 'dist/seamlab.js'), ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (d: Buffer) => this.onData(d));
    this.proc.stderr.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    this.exited = new Promise((r) => this.proc.on('exit', (code) => r(code)));
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const sep = this.buf.indexOf('\r\n\r\n');
      if (sep < 0) return;
      const m = /Content-Length: (\d+)/.exec(this.buf.subarray(0, sep).toString('ascii'));
      if (!m) throw new Error(`adapter sent a header without Content-Length: ${this.buf.subarray(0, sep).toString()}`);
      const len = Number(m[1]);
      if (this.buf.length < sep + 4 + len) return;
      const msg = JSON.parse(this.buf.subarray(sep + 4, sep + 4 + len).toString('utf8')) as DapMessage;
      this.buf = this.buf.subarray(sep + 4 + len);
      this.received.push(msg);
      this.waiters = this.waiters.filter((w) => {
        if (!w.test(msg)) return true;
        w.resolve(msg);
        return false;
      });
    }
  }

  /** Resolves with the first message (already received after `since`, or future) that passes `test`. */
  waitFor(test: (m: DapMessage) => boolean, what: string, timeoutMs = 60_000, since = 0): Promise<DapMessage> {
    const have = this.received.slice(since).find(test);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}; stderr: ${this.stderr}`)), timeoutMs);
      this.waiters.push({ test, resolve: (m) => { clearTimeout(t); resolve(m); } });
    });
  }

  sendRaw(bytes: Uint8Array | string): void {
    this.proc.stdin.write(bytes);
  }

  /** Sends a request; resolves with its response (success or not). */
  async request<C extends keyof DapResponses>(command: C, args?: unknown, timeoutMs?: number): Promise<DapResponses[C]> {
    const seq = this.seq++;
    const json = JSON.stringify({ seq, type: 'request', command, ...(args === undefined ? {} : { arguments: args }) });
    this.sendRaw(`Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
    return await this.waitFor((m) => m.type === 'response' && m.request_seq === seq, `response to ${command}`, timeoutMs) as DapResponses[C];
  }

  /** The next event named `event` received after message index `since`. */
  async event<E extends keyof DapEvents>(event: E, since: number, timeoutMs?: number): Promise<DapEvents[E]> {
    return await this.waitFor((m) => m.type === 'event' && m.event === event, `event ${event}`, timeoutMs, since) as DapEvents[E];
  }

  get mark(): number {
    return this.received.length;
  }

  async close(): Promise<number | null> {
    this.proc.stdin.end();
    return this.exited;
  }
}
