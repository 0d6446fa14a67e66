/**
 * `seamlab dap` spoken to over the wire (Content-Length framing) by a test
 * client, as VS Code would: the start-up sequence, a source breakpoint on a
 * line of the macro body, the registers scope at the SEAMCALL (RAX = leaf
 * TDH.SYS.RD = 34, tdx-facts.md), the argument struct, stepping and
 * stepping back, exact disassembly counts, memory (the out pointer at
 * [rsp], tdx-facts.md §1.1), evaluation, reverse-continue.
 *
 * Lines are found in the kernel text itself; the source paths handed to the
 * editor must hold the revision's content (v3's seamcall.S exists only in
 * the patched overlay).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveRevision } from '../src/intake/revision.js';
import type { DebugProtocol as P } from '@vscode/debugprotocol';
import { DapClient } from './support/dap-client.js';

const TDXCALL = 'arch/x86/virt/vmx/tdx/tdxcall.S';
const SEAMCALL = 'arch/x86/virt/vmx/tdx/seamcall.S';
const rev = resolveRevision('v3');
const text = (f: string) => rev.files.readFile(f)!;
const lineOf = (f: string, re: RegExp) => text(f).split('\n').findIndex((l) => re.test(l)) + 1;

let client: DapClient;
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seamlab-dap-test-'));
  client = new DapClient(['dap'], { TMPDIR: tmp });
});

afterAll(() => {
  if (client.proc.exitCode === null) client.proc.kill();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function ok<R extends P.Response>(m: R): R {
  expect(m.success, m.message).toBe(true);
  return m;
}

/** Element `i`, which the test asserted to be there (a length, a find). */
function at<T>(list: readonly T[] | undefined, i: number): T {
  const v = list?.[i];
  if (v === undefined) throw new Error(`no element ${i} in ${JSON.stringify(list)}`);
  return v;
}

/** The first element named `name`. */
function named<T extends { name: string }>(list: readonly T[], name: string): T {
  const v = list.find((x) => x.name === name);
  if (v === undefined) throw new Error(`no ${name} in ${list.map((x) => x.name).join(', ')}`);
  return v;
}

describe('seamlab dap', () => {
  let frames: P.StackFrame[];

  it('initialize advertises what the adapter implements', async () => {
    const r = ok(await client.request('initialize', { adapterID: 'seamlab', clientID: 'vitest', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true }));
    expect(r.body).toMatchObject({
      supportsConfigurationDoneRequest: true, supportsStepBack: true, supportsDisassembleRequest: true, supportsReadMemoryRequest: true,
      supportsSteppingGranularity: true, supportsInstructionBreakpoints: true, supportsDataBreakpoints: true, supportsEvaluateForHovers: true,
    });
  });

  it('launch → initialized → setBreakpoints (verified, moved, unverified) → configurationDone → stopped at the breakpoint', async () => {
    const mark = client.mark;
    ok(await client.request('launch', { revision: 'v3', function: '__seamcall', scenario: 'success' }));
    await client.event('initialized', mark);
    const tdxcallPath = path.join(rev.provenance.base.dir, TDXCALL);
    const seamcallLine = lineOf(TDXCALL, /^\s*seamcall\s*$/);
    const comment = lineOf(TDXCALL, /Fetch output pointer from stack/);
    const r = ok(await client.request('setBreakpoints', { source: { path: tdxcallPath }, breakpoints: [{ line: seamcallLine }, { line: comment }, { line: 5000 }] }));
    expect(r.body.breakpoints).toHaveLength(3);
    const [hit, moved, none] = [at(r.body.breakpoints, 0), at(r.body.breakpoints, 1), at(r.body.breakpoints, 2)];
    expect(hit).toMatchObject({ verified: true, line: seamcallLine });
    expect(moved).toMatchObject({ verified: true, line: lineOf(TDXCALL, /^\s*pop %r12/) });
    expect(moved.message).toMatch(/moved to line/);
    expect(none).toMatchObject({ verified: false });
    expect(none.message).toMatch(/no code at or after line 5000/);
    const stopMark = client.mark;
    ok(await client.request('configurationDone'));
    const stopped = await client.event('stopped', stopMark);
    expect(stopped.body).toMatchObject({ reason: 'breakpoint', threadId: 1, hitBreakpointIds: [hit.id] });
    expect(ok(await client.request('threads')).body.threads).toHaveLength(1);
  });

  it('stackTrace: frame 0 at the macro body line, the TDX_MODULE_CALL expansion below it, then the function', async () => {
    const st = ok(await client.request('stackTrace', { threadId: 1 }));
    frames = st.body.stackFrames;
    expect(frames).toHaveLength(3);
    const [top, expansion, fn] = [at(frames, 0), at(frames, 1), at(frames, 2)];
    expect(top.source?.path?.endsWith(TDXCALL)).toBe(true);
    expect(top.line).toBe(lineOf(TDXCALL, /^\s*seamcall\s*$/));
    expect(expansion.name).toMatch(/^TDX_MODULE_CALL host=1/);
    expect(expansion.line).toBe(lineOf(SEAMCALL, /^\s*TDX_MODULE_CALL host=1/));
    // seamcall.S comes from the v3 patch: the editor gets a real file with the patched content.
    const patched = expansion.source?.path ?? '';
    expect(patched.endsWith(SEAMCALL)).toBe(true);
    expect(fs.readFileSync(patched, 'utf8')).toBe(text(SEAMCALL));
    expect(patched.startsWith(tmp)).toBe(true);
    expect(fn.name).toBe('__seamcall');
    expect(fn.line).toBe(lineOf(SEAMCALL, /SYM_FUNC_START\(__seamcall\)/));
  });

  it('scopes/variables: registers with RFLAGS bits as children, the output struct by field', async () => {
    const scopes = ok(await client.request('scopes', { frameId: at(frames, 0).id })).body.scopes;
    expect(scopes.map((s) => s.name)).toEqual(['Registers', 'Arguments']);
    const regs = ok(await client.request('variables', { variablesReference: at(scopes, 0).variablesReference })).body.variables;
    const reg = (n: string) => named(regs, n);
    expect(reg('rax').value).toBe('0x22'); // TDH.SYS.RD
    expect(reg('rdx').value).toBe('0x9100000100000008'); // MAX_TDMRS field id (tdx-facts.md)
    expect(reg('rip').value).toMatch(/^0xffffffff81000014 <__seamcall\+20>$/);
    const flags = reg('rflags');
    const bits = ok(await client.request('variables', { variablesReference: flags.variablesReference })).body.variables;
    const value = BigInt(flags.value.split(' ')[0]!);
    const expected: Record<string, bigint> = { CF: 0n, PF: 2n, AF: 4n, ZF: 6n, SF: 7n, TF: 8n, IF: 9n, DF: 10n, OF: 11n };
    expect(bits.map((b) => b.name)).toEqual(Object.keys(expected));
    for (const b of bits) expect(b.value).toBe(String((value >> expected[b.name]!) & 1n));
    const args = ok(await client.request('variables', { variablesReference: at(scopes, 1).variablesReference })).body.variables;
    const out = named(args, 'out');
    expect(out.value).toMatch(/^\(struct tdx_module_output \*\) 0x/);
    const fields = ok(await client.request('variables', { variablesReference: out.variablesReference })).body.variables;
    // tdx-facts.md §1.1: struct tdx_module_output is rcx, rdx, r8, r9, r10, r11.
    expect(fields.map((f) => f.name)).toEqual(['rcx', 'rdx', 'r8', 'r9', 'r10', 'r11']);
    expect(fields.map((f) => f.evaluateName)).toEqual(['out->rcx', 'out->rdx', 'out->r8', 'out->r9', 'out->r10', 'out->r11']);
  });

  it('readMemory at RSP holds the out pointer; evaluate; gdb commands in the console', async () => {
    const ev = ok(await client.request('evaluate', { expression: '$rsp', context: 'hover' }));
    const rsp = ev.body.result.split(' ')[0];
    const mem = ok(await client.request('readMemory', { memoryReference: rsp, count: 16 }));
    const bytes = Buffer.from(mem.body?.data ?? '', 'base64');
    expect(bytes).toHaveLength(16);
    const outPtr = ok(await client.request('evaluate', { expression: 'out', context: 'watch' })).body.result.split(' ')[0];
    expect(`0x${bytes.readBigUInt64LE(0).toString(16)}`).toBe(outPtr);
    expect(ok(await client.request('evaluate', { expression: '$rax', context: 'watch' })).body.result).toBe('0x22 (34)');
    const bad = await client.request('evaluate', { expression: '$rax +', context: 'watch' });
    expect(bad.success).toBe(false);
    expect(bad.message).toMatch(/column 7/);
    const bt = ok(await client.request('evaluate', { expression: 'bt', context: 'repl' }));
    expect(bt.body.result.split('\n')[1]).toMatch(/^#1 +TDX_MODULE_CALL host=1 at arch\/x86\/virt\/vmx\/tdx\/seamcall\.S:\d+/);
  });

  it('disassemble returns exactly the count asked for, padded with invalid entries outside the image', async () => {
    const ipr = at(frames, 0).instructionPointerReference;
    const r = ok(await client.request('disassemble', { memoryReference: ipr, instructionOffset: -3, instructionCount: 10, resolveSymbols: true }));
    const insns = r.body?.instructions;
    expect(insns).toHaveLength(10);
    expect(insns?.[3]).toMatchObject({ address: ipr, instruction: 'seamcall' });
    const far = ok(await client.request('disassemble', { memoryReference: ipr, instructionOffset: -40, instructionCount: 100 }));
    expect(far.body?.instructions).toHaveLength(100);
    expect(at(far.body?.instructions, 0).presentationHint).toBe('invalid');
    expect(at(far.body?.instructions, 99).presentationHint).toBe('invalid');
    expect(far.body?.instructions.filter((i) => i.presentationHint !== 'invalid').length).toBeGreaterThan(20);
  });

  it('next, stepBack (line and instruction), continue to the end, reverseContinue back to the breakpoint', async () => {
    const line = async () => at(ok(await client.request('stackTrace', { threadId: 1 })).body.stackFrames, 0).line;
    let mark = client.mark;
    ok(await client.request('next', { threadId: 1 }));
    expect((await client.event('stopped', mark)).body.reason).toBe('step');
    expect(await line()).toBe(lineOf(TDXCALL, /^\s*jnc \.Lno_vmfailinvalid/));
    const scopes = ok(await client.request('scopes', { frameId: 1 })).body.scopes;
    expect(scopes.map((s) => s.name)).toContain('Last SEAM call');
    mark = client.mark;
    ok(await client.request('stepBack', { threadId: 1 }));
    await client.event('stopped', mark);
    expect(await line()).toBe(lineOf(TDXCALL, /^\s*seamcall\s*$/));
    mark = client.mark;
    ok(await client.request('stepBack', { threadId: 1, granularity: 'instruction' }));
    await client.event('stopped', mark);
    expect(await line()).toBe(lineOf(TDXCALL, /^\s*mov %rsi, %rcx/));
    mark = client.mark;
    ok(await client.request('continue', { threadId: 1 }));
    const hitAgain = await client.event('stopped', mark);
    expect(hitAgain.body.reason).toBe('breakpoint');
    mark = client.mark;
    ok(await client.request('continue', { threadId: 1 }));
    expect((await client.event('stopped', mark)).body.reason).toBe('breakpoint');
    expect(await line()).toBe(lineOf(TDXCALL, /^\s*pop %r12/));
    mark = client.mark;
    ok(await client.request('continue', { threadId: 1 }));
    const end = await client.event('stopped', mark);
    expect(end.body.reason).toBe('exited');
    expect(end.body.description).toMatch(/returned 0x0 TDX_SUCCESS/);
    mark = client.mark;
    ok(await client.request('reverseContinue', { threadId: 1 }));
    expect((await client.event('stopped', mark)).body.reason).toBe('breakpoint');
    expect(await line()).toBe(lineOf(TDXCALL, /^\s*pop %r12/));
    mark = client.mark;
    ok(await client.request('reverseContinue', { threadId: 1 }));
    expect((await client.event('stopped', mark)).body.reason).toBe('breakpoint');
    expect(await line()).toBe(lineOf(TDXCALL, /^\s*seamcall\s*$/));
  });

  it('data breakpoints on a struct field stop after the store; disconnect ends the adapter', async () => {
    const scopes = ok(await client.request('scopes', { frameId: 1 })).body.scopes;
    const args = ok(await client.request('variables', { variablesReference: at(scopes, 1).variablesReference })).body.variables;
    const out = named(args, 'out');
    const info = ok(await client.request('dataBreakpointInfo', { variablesReference: out.variablesReference, name: 'r8' }));
    expect(info.body).toMatchObject({ dataId: 'out->r8', accessTypes: ['write', 'read', 'readWrite'] });
    const set = ok(await client.request('setDataBreakpoints', { breakpoints: [{ dataId: info.body.dataId, accessType: 'write' }] }));
    expect(at(set.body.breakpoints, 0).verified).toBe(true);
    const cleared = ok(await client.request('setBreakpoints', { source: { path: path.join(rev.provenance.base.dir, TDXCALL) }, breakpoints: [] }));
    expect(cleared.body.breakpoints).toEqual([]);
    const mark = client.mark;
    ok(await client.request('continue', { threadId: 1 }));
    const stop = await client.event('stopped', mark);
    expect(stop.body.reason).toBe('data breakpoint');
    expect(stop.body.text).toBe('out->r8: 0x5a5a5a5a5a5a5a5a → 0x40');
    const st = ok(await client.request('stackTrace', { threadId: 1 })).body.stackFrames;
    expect(at(st, 0).line).toBe(lineOf(TDXCALL, /movq %r9,\s+TDX_MODULE_r9/));
    ok(await client.request('disconnect', {}));
    expect(await client.close()).toBe(0);
  });
});

describe('seamlab dap --port', () => {
  it('serves one session per TCP connection on 127.0.0.1', async () => {
    const { spawn } = await import('node:child_process');
    const net = await import('node:net');
    const proc = spawn(process.execPath, [path.resolve(import.meta.dirname, '../dist/seamlab.js'), 'dap', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let err = '';
        proc.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err);
          if (m) resolve(Number(m[1]));
        });
        proc.on('exit', () => reject(new Error(`exited: ${err}`)));
      });
      const reply = await new Promise<string>((resolve, reject) => {
        const sock = net.connect(port, '127.0.0.1', () => {
          const json = JSON.stringify({ seq: 1, type: 'request', command: 'initialize', arguments: { adapterID: 'seamlab', pathFormat: 'path' } });
          sock.write(`Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
        });
        let got = '';
        sock.on('data', (d: Buffer) => {
          got += d.toString();
          const len = Number(/Content-Length: (\d+)/.exec(got)?.[1]);
          const body = got.split('\r\n\r\n')[1];
          if (body !== undefined && Buffer.byteLength(body) >= len) {
            sock.end();
            resolve(body);
          }
        });
        sock.on('error', reject);
      });
      expect(JSON.parse(reply)).toMatchObject({ type: 'response', command: 'initialize', success: true, body: { supportsStepBack: true } });
      // Loopback only (issue 18 item 12): the same port on 127.0.0.2, another loopback address, is refused.
      await expect(new Promise<void>((resolve, reject) => {
        const sock = net.connect(port, '127.0.0.2', () => {
          sock.destroy();
          resolve();
        });
        sock.on('error', reject);
      })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      proc.kill();
    }
  });

  it('--listen ADDR listens there instead, with a warning', async () => {
    const { spawn } = await import('node:child_process');
    const proc = spawn(process.execPath, [path.resolve(import.meta.dirname, '../dist/seamlab.js'), 'dap', '--port', '0', '--listen', '127.0.0.2'], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      const err = await new Promise<string>((resolve, reject) => {
        let got = '';
        proc.stderr.on('data', (d: Buffer) => {
          got += d.toString();
          if (/listening on 127\.0\.0\.2:\d+/.test(got)) resolve(got);
        });
        proc.on('exit', () => reject(new Error(`exited: ${got}`)));
      });
      expect(err.split('\n')[0]).toBe('warning: the DAP server listens on 127.0.0.2: other users of this machine can connect and read and write the run\'s registers and memory');
    } finally {
      proc.kill();
    }
  });
});
