/**
 * The GDB stub end to end: the TCP server's listen address, and the real
 * GNU gdb (batch mode, never interactive) debugging v3 `__seamcall` through
 * `seamlab debug --gdb` with the ELF from `--elf`.
 *
 * Expected values: source lines from the kernel text (6.1's tdxcall.S in
 * the cached tree, the seamcall.S v3's patch creates), register values
 * from tdx-facts.md (§3.1: TDH.SYS.RD is leaf 34; §3.2: MAX_TDMRS is field
 * 0x9100000100000008; §1.1: at the SEAMCALL [rsp] holds the `out` pointer
 * and the macro stores RCX, RDX, R8–R11 into *out; §2.1: a successful
 * SEAMCALL returns with CF=0; §1.7: TDX_SUCCESS = 0; §7: TDH.SYS.RD returns
 * the field's value in R8). Nothing is taken from seamlab's own source map.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDebugger } from '../src/cli/debug.js';
import { listenWarning, runGdbStub, type GdbStubOptions } from '../src/cli/debug-gdb.js';
import { serveGdb, type GdbServer } from '../src/gdb/server.js';
import { FakeCore } from './support/gdb-fake-core.js';
import { hasCommand, requireOracle } from './support/oracles.js';
import { treePath } from './support/kernel.js';
import { framePacket } from '../src/gdb/packet.js';
import { CLI, seamlab } from './support/cli.js';

const HAVE_GDB = requireOracle('gdb', hasCommand('gdb', ['-batch', '-nx', '-ex', 'show version']), 'apt-get install gdb');

const fakeCore = () => new FakeCore({ path: [0x1000n, 0x1001n], memory: [{ base: 0x1000n, bytes: new Uint8Array(16) }] });

/** Connects, sends one packet and resolves with the first bytes back; rejects with the socket error (ECONNREFUSED …). */
function probe(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port }, () => s.write(framePacket('qC')));
    let got = '';
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('#')) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
}

describe('gdb stub server', () => {
  it('listens on 127.0.0.1 only: 127.0.0.2 on the same port is refused', async () => {
    const server = await serveGdb(fakeCore(), { port: 0 });
    try {
      expect(server.host).toBe('127.0.0.1');
      await expect(probe('127.0.0.2', server.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      expect(await probe('127.0.0.1', server.port)).toBe('+$QC1#c5');
    } finally {
      await server.close();
    }
  });

  it('serves one gdb at a time: a second connection is closed', async () => {
    const server = await serveGdb(fakeCore(), { port: 0 });
    const first = net.connect({ host: '127.0.0.1', port: server.port });
    try {
      await new Promise((r) => first.once('connect', r));
      await new Promise((r) => setTimeout(r, 50));
      expect(await probe('127.0.0.1', server.port)).toBe('');
    } finally {
      first.destroy();
      await server.close();
    }
  });

  it('another address needs --listen and prints a warning', async () => {
    expect(listenWarning('127.0.0.1')).toBeUndefined();
    expect(listenWarning('0.0.0.0')).toMatch(/^warning: the gdb stub listens on 0\.0\.0\.0: anyone who can reach this address can connect/);
    const printed: string[] = [];
    const warned: string[] = [];
    const { server, done } = await startStub({ gdb: '0', listen: '127.0.0.2' }, printed, warned);
    expect(warned).toEqual([listenWarning('127.0.0.2')]);
    expect(printed[0]).toBe(`__seamcall (v3, scenario success) stopped at its entry; gdb stub listening on 127.0.0.2:${server.port}`);
    await expect(probe('127.0.0.1', server.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(await probe('127.0.0.2', server.port)).toBe('+$QC1#c5');
    await done; // the probe hung up: the session ends
    expect(printed.at(-1)).toBe('gdb disconnected');
  });

  it('a port that is not a number is a user error', () => {
    const r = seamlab(['debug', 'v3', '--fn', '__seamcall', '--gdb', 'http']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--gdb http: not a TCP port/);
  });
});

/** What `seamlab debug v3 --fn __seamcall --scenario success --gdb …` does, in-process; resolves once the stub listens. */
async function startStub(opts: GdbStubOptions, printed: string[], warned: string[] = printed): Promise<{ server: GdbServer; done: Promise<void> }> {
  const d = await openDebugger('v3', { fn: '__seamcall', scenario: 'success', profile: 'default', budget: '1000000', timeLimit: '60000' });
  let listening!: (s: GdbServer) => void;
  const ready = new Promise<GdbServer>((r) => (listening = r));
  const done = runGdbStub(d, opts, { print: (l) => printed.push(l), warn: (l) => warned.push(l), onListening: listening }).then(
    () => d.close(),
    (e) => {
      d.close();
      throw e;
    },
  );
  const server = await Promise.race([ready, done.then(() => Promise.reject(new Error('the stub ended before listening')))]);
  return { server, done };
}

function gdbBatch(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('gdb', ['-batch', '-nx', ...args], { timeout: 120_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && err.killed) reject(new Error(`gdb timed out:\n${stdout}\n${stderr}`));
      else resolve(stdout + stderr);
    });
  });
}

/** 1-based numbers of the lines of `text` that match. */
function linesMatching(text: string, re: RegExp): number[] {
  return text.split('\n').flatMap((l, i) => (re.test(l) ? [i + 1] : []));
}

describe.skipIf(!HAVE_GDB)('real gdb against seamlab debug --gdb (v3 __seamcall, scenario success)', () => {
  let dir: string;
  let out = '';
  const printed: string[] = [];
  const tdxcall = () => readFileSync(join(treePath('linux-6.1'), 'arch/x86/virt/vmx/tdx/tdxcall.S'), 'utf8');
  /** seamcall.S as v3's patch creates it. */
  const seamcallS = () => {
    const patch = readFileSync(join(import.meta.dirname, '../fixtures/000_aa2199c2670e7995.txt'), 'utf8');
    const hunk = patch.slice(patch.indexOf('+++ b/arch/x86/virt/vmx/tdx/seamcall.S')).split('\n').slice(2);
    return hunk.slice(0, hunk.findIndex((l) => !l.startsWith('+'))).map((l) => l.slice(1)).join('\n');
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'seamlab-gdb-'));
    const elf = join(dir, 'seamcall.elf');
    const [seamcallLine] = linesMatching(tdxcall(), /^\tseamcall$/);
    const [retLine] = linesMatching(seamcallS(), /^\s+ret$/);
    const { server, done } = await startStub({ gdb: '0', elf }, printed);
    out = await gdbBatch([
      elf,
      '-ex', `target remote 127.0.0.1:${server.port}`,
      '-ex', `break seamcall.S:${retLine}`,
      '-ex', `break tdxcall.S:${seamcallLine}`,
      '-ex', 'continue',
      '-ex', 'info registers rax rdx rflags',
      '-ex', 'bt',
      '-ex', 'info line *$pc',
      '-ex', 'set $out = *(unsigned long *)$rsp',
      '-ex', 'stepi',
      '-ex', 'info registers rax rflags',
      '-ex', 'reverse-stepi',
      '-ex', 'info registers rax',
      '-ex', 'continue',
      '-ex', 'x/6gx $out',
      '-ex', 'info registers rcx rdx r8 r9 r10 r11',
      '-ex', 'detach',
    ]);
    if (process.env.SEAMLAB_GDB_DUMP) console.log(out);
    await done;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** gdb's output from a marker on (the command outputs are in order). */
  const after = (marker: string | RegExp) => {
    const i = typeof marker === 'string' ? out.indexOf(marker) : out.search(marker);
    expect(i, `${marker} in gdb's output:\n${out}`).toBeGreaterThanOrEqual(0);
    return out.slice(i);
  };
  const reg = (text: string, name: string) => {
    const m = text.match(new RegExp(`^${name}\\s+0x([0-9a-f]+)\\s+(.*)$`, 'm'));
    expect(m, `register ${name} in:\n${text}`).not.toBeNull();
    return { value: BigInt('0x' + m![1]), shown: m![2]! };
  };

  it('prints how to connect, with the ELF it wrote', () => {
    expect(printed[0]).toMatch(/^__seamcall \(v3, scenario success\) stopped at its entry; gdb stub listening on 127\.0\.0\.1:\d+$/);
    expect(printed[1]).toMatch(/^connect with: gdb \S+seamcall\.elf -ex 'target remote 127\.0\.0\.1:\d+'$/);
    expect(printed.at(-1)).toBe('gdb detached');
  });

  it('sets breakpoints on seamcall.S and tdxcall.S lines via the ELF', () => {
    const [seamcallLine] = linesMatching(tdxcall(), /^\tseamcall$/);
    const [retLine] = linesMatching(seamcallS(), /^\s+ret$/);
    expect(out).toMatch(new RegExp(`^Breakpoint 1 at 0x[0-9a-f]+: file arch/x86/virt/vmx/tdx/seamcall\\.S, line ${retLine}\\.$`, 'm'));
    expect(out).toMatch(new RegExp(`^Breakpoint 2 at 0x[0-9a-f]+: file arch/x86/virt/vmx/tdx/tdxcall\\.S, line ${seamcallLine}\\.$`, 'm'));
  });

  it('continue stops at the SEAMCALL with the leaf in RAX, inside the macro expansion', () => {
    const [seamcallLine] = linesMatching(tdxcall(), /^\tseamcall$/);
    const [invocation] = linesMatching(seamcallS(), /^\s+TDX_MODULE_CALL host=1$/);
    const stop = after('Breakpoint 2, ');
    expect(stop).toMatch(new RegExp(`^Breakpoint 2, TDX_MODULE_CALL \\(\\) at arch/x86/virt/vmx/tdx/tdxcall\\.S:${seamcallLine}\\n${seamcallLine}\\t\\tseamcall\\n`));
    expect(reg(stop, 'rax').value).toBe(34n); // TDH.SYS.RD
    expect(reg(stop, 'rdx').value).toBe(0x9100000100000008n); // MAX_TDMRS
    expect(reg(stop, 'rflags').shown).toMatch(/^\[ [A-Z ]+ \]$/);
    // The macro expansion is an inlined frame under the function, at the invocation line.
    expect(stop).toMatch(new RegExp(`^#0  TDX_MODULE_CALL \\(\\) at arch/x86/virt/vmx/tdx/tdxcall\\.S:${seamcallLine}\\n#1  __seamcall \\(\\) at arch/x86/virt/vmx/tdx/seamcall\\.S:${invocation}$`, 'm'));
    expect(stop).toMatch(new RegExp(`^Line ${seamcallLine} of "arch/x86/virt/vmx/tdx/tdxcall\\.S" starts at address 0x[0-9a-f]+ <__seamcall\\+\\d+>`, 'm'));
  });

  it('stepi executes the SEAMCALL (success: RAX = 0, CF clear); reverse-stepi goes back to the leaf', () => {
    const [jnc] = linesMatching(tdxcall(), /^\tjnc \.Lno_vmfailinvalid$/);
    const stepped = after(new RegExp(`^${jnc}\\t\\tjnc \\.Lno_vmfailinvalid$`, 'm'));
    expect(reg(stepped, 'rax').value).toBe(0n);
    expect(reg(stepped, 'rflags').shown).not.toMatch(/\bCF\b/);
    const [seamcallLine] = linesMatching(tdxcall(), /^\tseamcall$/);
    const back = stepped.slice(stepped.search(new RegExp(`^${seamcallLine}\\t\\tseamcall$`, 'm')));
    expect(reg(back, 'rax').value).toBe(34n);
  });

  it('continue to the ret; x/6gx of the output struct holds RCX, RDX, R8–R11', () => {
    const [retLine] = linesMatching(seamcallS(), /^\s+ret$/);
    const end = after('Breakpoint 1, ');
    expect(end).toMatch(new RegExp(`^Breakpoint 1, __seamcall \\(\\) at arch/x86/virt/vmx/tdx/seamcall\\.S:${retLine}\\n${retLine}\\t\\s+ret\\n`));
    const words = [...end.matchAll(/^0x[0-9a-f]+:\s+0x([0-9a-f]{16})\s+0x([0-9a-f]{16})$/gm)].flatMap((m) => [BigInt('0x' + m[1]), BigInt('0x' + m[2])]);
    expect(words).toHaveLength(6);
    expect(['rcx', 'rdx', 'r8', 'r9', 'r10', 'r11'].map((r) => reg(end, r).value)).toEqual(words);
    // TDH.SYS.RD returns the field's value in R8 (tdx-facts §7): MAX_TDMRS is nonzero.
    expect(words[2]).not.toBe(0n);
    expect(end).toMatch(/^\[Inferior 1 \(Remote target\) detached\]$/m);
  });
});

describe.skipIf(!HAVE_GDB)('real gdb: a memory watchpoint on out->r8, reverse-continue, the end of the run', () => {
  let dir: string;
  let out = '';
  const tdxcall = () => readFileSync(join(treePath('linux-6.1'), 'arch/x86/virt/vmx/tdx/tdxcall.S'), 'utf8');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'seamlab-gdb-watch-'));
    const elf = join(dir, 'seamcall.elf');
    const [seamcallLine] = linesMatching(tdxcall(), /^\tseamcall$/);
    const { server, done } = await startStub({ gdb: '0', elf }, []);
    out = await gdbBatch([
      elf,
      '-ex', `target remote 127.0.0.1:${server.port}`,
      '-ex', `tbreak tdxcall.S:${seamcallLine}`,
      '-ex', 'continue',
      // tdx-facts §1.1: at the SEAMCALL [rsp] is the out pointer; r8 is at offset 16 of struct tdx_module_output.
      '-ex', 'watch -l *(long *)(*(long *)$rsp + 16)',
      '-ex', 'continue',
      '-ex', 'reverse-continue',
      '-ex', 'delete',
      '-ex', 'reverse-continue',
      '-ex', 'continue',
      '-ex', 'detach',
    ]);
    if (process.env.SEAMLAB_GDB_DUMP) console.log(out);
    await done;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stops after the store to out->r8, and backwards before it, with old and new values swapped', () => {
    const [store] = linesMatching(tdxcall(), /^\tmovq %r8,\s+TDX_MODULE_r8\(%r12\)$/);
    const [next] = linesMatching(tdxcall(), /^\tmovq %r9,\s+TDX_MODULE_r9\(%r12\)$/);
    const hits = [...out.matchAll(/^Old value = (-?\d+)\nNew value = (-?\d+)\nTDX_MODULE_CALL \(\) at arch\/x86\/virt\/vmx\/tdx\/tdxcall\.S:(\d+)$/gm)];
    expect(hits.map((h) => Number(h[3]))).toEqual([next, store]);
    expect([hits[1]![1], hits[1]![2]]).toEqual([hits[0]![2], hits[0]![1]]);
    expect(hits[0]![2]).not.toBe(hits[0]![1]);
  });

  it('reverse-continue with no breakpoints goes back to the entry; continue runs to the end and says so', () => {
    const frameH = readFileSync(join(treePath('linux-6.1'), 'arch/x86/include/asm/frame.h'), 'utf8');
    const [push] = linesMatching(frameH, /^\tpush %_ASM_BP$/);
    expect(out).toMatch(new RegExp(`^No more reverse-execution history\\.\\nFRAME_BEGIN \\(\\) at arch/x86/include/asm/frame\\.h:${push}$`, 'm'));
    // TDX_SUCCESS is 0 (tdx-facts §1.7).
    expect(out).toMatch(/^seamlab: the run ended after \d+ instructions \(returned\); returned 0x0 TDX_SUCCESS; reverse-stepi\/reverse-continue go back$/m);
    expect(out).toMatch(/^\[Inferior 1 \(Remote target\) detached\]$/m);
  });
});

describe.skipIf(!HAVE_GDB)('the seamlab binary', () => {
  it('seamlab debug --gdb 0 prints its port, serves gdb, and exits 0 when gdb kills the run', async () => {
    const child = spawn(process.execPath, [CLI, 'debug', 'v3', '--fn', '__seamcall', '--gdb', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const port = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          const m = stdout.match(/listening on 127\.0\.0\.1:(\d+)/);
          if (m) resolve(m[1]!);
        });
        child.on('exit', () => reject(new Error(`seamlab debug exited early: ${stdout}`)));
      });
      const out = await gdbBatch(['-ex', `target remote 127.0.0.1:${port}`, '-ex', 'info registers rip', '-ex', 'kill']);
      expect(out).toMatch(/^rip\s+0x[0-9a-f]+\s+0x[0-9a-f]+$/m);
      expect(await exited).toBe(0);
      expect(stdout).toMatch(/gdb killed the run\n$/);
    } finally {
      child.kill();
    }
  });
});
