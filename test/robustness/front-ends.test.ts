/**
 * Robustness corpus: one bad input for each front end that reads text
 * from strangers, through the command line, with the exact outcome: the
 * patch/mbox reader, the .config reader, the C preprocessor, the
 * assembler, the scenario loader, the gdb remote-protocol reader (a
 * `seamlab debug --gdb` server fed garbage over TCP on loopback) and the
 * DAP reader (`seamlab dap` on stdin). fuzz.test.ts, gdb-fuzz.test.ts and
 * debug-dap-fuzz.test.ts try many more inputs on each.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { CLI } from '../support/cli.js';
import { insertAfter, treePatch } from '../support/patches.js';
import { caseDirs, expectBounded, expectRefusal, runCli } from './harness.js';

const dir = caseDirs('front');
const TDCALL = 'arch/x86/coco/tdx/tdcall.S';
/** The 1-based line of the first `+` line of a one-hunk patch in the new file. */
function addedLine(patch: string): number {
  const lines = fs.readFileSync(patch, 'utf8').split('\n');
  const h = lines.findIndex((l) => l.startsWith('@@'));
  return Number(/\+(\d+)/.exec(lines[h]!)![1]) + lines.slice(h + 1).findIndex((l) => l.startsWith('+'));
}

describe('front ends, one bad input each', () => {
  it('patch/mbox reader: a base64 body with characters base64 does not have', () => {
    const cwd = dir({
      'bad.mbox': ['From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001', 'From: A <a@example.org>', 'Subject: [PATCH] x',
        'Content-Transfer-Encoding: base64', '', 'not*base64!', ''].join('\n'),
    });
    expectRefusal(runCli(['revisions', 'linux-6.1+bad.mbox'], { cwd }), [
      'bad.mbox:6: error: message 1 has a base64 body with invalid characters [MAIL_BAD_BASE64]',
      '  hint: save the mail in its original form (raw source / mbox)',
    ]);
  });

  it('.config reader: a string value that does not end', () => {
    const cwd = dir({ 'x.config': 'CONFIG_X86_64=y\nCONFIG_CMDLINE="quiet\n' });
    expectRefusal(runCli(['run', '--config', 'x.config'], { cwd }), [
      'x.config:2: error: line 2: bad string value "quiet [CONFIG_SYNTAX]',
      '  hint: write CONFIG_X="text" (quotes and backslashes escaped with \\)',
    ]);
  });

  it('C preprocessor: an #if that is not an expression', () => {
    const patch = treePatch('linux-6.1', TDCALL, (t) => insertAfter(t, /^#include <asm\/frame\.h>/, ['#if 1 +', '#endif']), 'bad-if.patch');
    expectRefusal(runCli(['cpp', `linux-6.1+${patch}`, TDCALL], { cwd: dir() }), [
      `${TDCALL}:${addedLine(patch)}: error: operator '+' has no right operand [CPP_BAD_IF]`, // gcc's words
      '    #if 1 +',
      '  hint: fix the #if expression',
    ]);
  });

  it('assembler: an operand that is not one', () => {
    const patch = treePatch('linux-6.1', TDCALL, (t) => insertAfter(t, /^\tFRAME_BEGIN/, ['\tmov %rax, %%rbx']), 'bad-operand.patch');
    const r = runCli(['build', `linux-6.1+${patch}`, '--file', TDCALL], { cwd: dir() });
    expectBounded(r);
    expect(r.status).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toEqual([
      `${TDCALL}:${addedLine(patch)}: error: bad register name \`%%rbx' [ENCODE_SYNTAX]`,
      '    mov %rax,%%rbx',
      '  note: in: mov %rax,%%rbx',
      '  hint: write the operand in AT&T syntax: %reg, $imm, disp(base,index,scale), or a label',
    ]);
  });

  it('scenario loader: a field the format does not have', () => {
    const cwd = dir({ 's.yaml': 'name: s\nseamcall:\n  call: { leaf: TDH.SYS.RD, regs: { rdx: 1 } }\n' });
    expectRefusal(runCli(['run', '--fn', '__seamcall', '--scenario', 's.yaml'], { cwd }), [
      'error: s.yaml:3:9: seamcall.call: Unrecognized key: "regs" [SCENARIO_INVALID]',
      '  hint: fix the field; the scenario format is described in src/seam/SCENARIOS.md',
    ]);
  });

  it('gdb remote protocol: garbage, a bad checksum and an oversized packet over loopback, then a real session', async () => {
    const proc = spawn(process.execPath, [CLI, 'debug', 'v3', '--fn', '__seamcall', '--gdb', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        proc.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /gdb stub listening on 127\.0\.0\.1:(\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        proc.on('exit', (c) => reject(new Error(`exited ${c}: ${out}`)));
      });
      const sock = net.connect(port, '127.0.0.1');
      let got = '';
      sock.on('data', (d: Buffer) => { got += d.toString('latin1'); });
      const until = async (re: RegExp) => {
        for (let i = 0; i < 400 && !re.test(got); i++) await new Promise((r) => setTimeout(r, 25));
        expect(got).toMatch(re);
      };
      await new Promise<void>((r) => sock.once('connect', () => r()));
      sock.write(Buffer.from([0xff, 0x00, 0x7d, 0x23, 0x24]));
      sock.write('$?#00'); // wrong checksum: NAK
      await until(/-/);
      sock.write(`$m0,${'1'.repeat(100_000)}#00`); // far over the packet size limit, wrong checksum too
      sock.write('$?#3f');
      await until(/\$T05[^#]*#[0-9a-f]{2}/);
      sock.write('$k#6b');
      const code = await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
      expect(code).toBe(0);
      sock.destroy();
    } finally {
      proc.kill();
    }
  });

  it('DAP reader: malformed headers and bodies on stdin are reported and skipped, and a real request is still answered', () => {
    const json = JSON.stringify({ seq: 1, type: 'request', command: 'initialize', arguments: { adapterID: 'x', pathFormat: 'path' } });
    // The oversized one last: the reader skips the length it declares, which is the rest of the input.
    const input = `garbage\r\n\r\nContent-Length: 5\r\n\r\n[1,2]Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}Content-Length: 99999999999\r\n\r\n{}`;
    const r = spawnSync(process.execPath, [CLI, 'dap'], { input, encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(0);
    const bodies = r.stdout.split(/Content-Length: \d+\r\n\r\n/).filter(Boolean).map((b) => JSON.parse(b) as { type: string; event?: string; command?: string; body?: { output?: string } });
    const ignored = bodies.filter((b) => b.event === 'output').map((b) => b.body!.output);
    expect(ignored).toEqual([
      'seamlab dap: ignored input: malformed header line "garbage"\n',
      'seamlab dap: ignored input: message is not a JSON object\n',
      'seamlab dap: ignored input: message of 99999999999 bytes is over the limit of 16777216\n',
    ]);
    expect(bodies.some((b) => b.type === 'response' && b.command === 'initialize')).toBe(true);
  });
});
