/**
 * The GDB stub's packet layer: framing (checksums, escapes, acks,
 * interrupts, garbage, oversized packets) and the command table, driven
 * through a GdbSession over a scripted core (test/support/gdb-fake-core.ts).
 * Expected encodings come from the GDB manual's "Remote Protocol" appendix
 * (e.g. `$OK#9a`, escapes as `}` + byte^0x20) and gdb's amd64 register
 * layout (gdb/features/i386/64bit-*.xml: 16 GPRs, rip, eflags, 6 segments,
 * st0–7, 8 x87 control, xmm0–15, mxcsr, orig_rax, fs_base, gs_base).
 */
import { describe, expect, it } from 'vitest';
import { COMMANDS, findCommand } from '../src/gdb/commands.js';
import { PacketReader, checksum, escape, framePacket, unescape } from '../src/gdb/packet.js';
import { REGISTER_BYTES, REGISTER_LAYOUT } from '../src/gdb/registers.js';
import { FakeCore, type FakeProgram } from './support/gdb-fake-core.js';
import { WireClient } from './support/gdb-wire.js';

const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');
const bytes = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));

const BASE = 0x1000n;
function program(extra: Partial<FakeProgram> = {}): FakeProgram {
  return {
    path: [0x1000n, 0x1001n, 0x1004n, 0x1008n, 0x100cn, 0x1010n],
    memory: [{ base: BASE, bytes: Uint8Array.from({ length: 0x100 }, (_, i) => i) }, { base: 0x8000n, bytes: new Uint8Array(0x40) }],
    ...extra,
  };
}

describe('framing', () => {
  it('frames with the modulo-256 checksum in two lowercase hex digits', () => {
    expect(latin1(framePacket('OK'))).toBe('$OK#9a');
    expect(latin1(framePacket(''))).toBe('$#00');
    expect(checksum(bytes('qSupported'))).toBe(0x37);
  });

  it('escapes $ # } * as } followed by the byte xor 0x20, and back', () => {
    const data = Uint8Array.of(0x24, 0x23, 0x7d, 0x2a, 0x41);
    expect([...escape(data)]).toEqual([0x7d, 0x04, 0x7d, 0x03, 0x7d, 0x5d, 0x7d, 0x0a, 0x41]);
    expect([...unescape(escape(data))]).toEqual([...data]);
  });

  it('reads packets split anywhere, skipping garbage before $', () => {
    const r = new PacketReader();
    const stream = bytes(`noise\r\n$g#67junk${latin1(framePacket('m10,4'))}`);
    const events = [...stream].flatMap((b) => r.feed(Uint8Array.of(b)));
    expect(events.map((e) => (e.kind === 'packet' ? latin1(e.payload) : e.kind))).toEqual(['g', 'm10,4']);
  });

  it('reports acks, nacks, the interrupt byte and bad checksums', () => {
    const r = new PacketReader();
    const events = r.feed(bytes('+-\x03$g#00$g#zz$g#67'));
    expect(events.map((e) => e.kind)).toEqual(['ack', 'nack', 'interrupt', 'bad-checksum', 'bad-checksum', 'packet']);
  });

  it('drops a packet over the limit up to its checksum, holding no more than the limit', () => {
    const r = new PacketReader(16);
    const big = 'X'.repeat(40);
    const cs = checksum(bytes(big)).toString(16).padStart(2, '0');
    expect(r.feed(bytes(`$${big}#${cs}$g#67`))).toEqual([{ kind: 'oversized', length: 40 }, { kind: 'packet', payload: bytes('g') }]);
  });

  it('unescapes binary data in packets from gdb', () => {
    const r = new PacketReader();
    const payload = Uint8Array.of(...bytes('X1000,2:'), 0x7d, 0x5d, 0x23 ^ 0x20);
    const body = Uint8Array.of(...payload.slice(0, 8), 0x7d, 0x5d, 0x7d, 0x03);
    const framed = Uint8Array.of(0x24, ...body, 0x23, ...bytes(checksum(body).toString(16).padStart(2, '0')));
    const ev = r.feed(framed);
    expect(ev[0]!.kind === 'packet' && [...ev[0]!.payload]).toEqual([...bytes('X1000,2:'), 0x7d, 0x23]);
  });
});

describe('command table', () => {
  it('looks commands up by the longest name, respecting name boundaries', () => {
    expect(findCommand('vCont?')!.command.name).toBe('vCont?');
    expect(findCommand('vCont;s:1;c')!.command.name).toBe('vCont');
    expect(findCommand('qC')!.command.name).toBe('qC');
    expect(findCommand('qCRC:0,4')).toBeUndefined();
    expect(findCommand('qAttached:a410')!.command.name).toBe('qAttached');
    expect(findCommand('bs')!.command.name).toBe('bs');
    expect(new Set(COMMANDS.map((c) => c.name)).size).toBe(COMMANDS.length);
  });
});

describe('session', () => {
  it('answers the connection sequence gdb 13 sends', async () => {
    const w = new WireClient(new FakeCore(program()));
    expect(await w.raw(framePacket('qSupported:multiprocess+;swbreak+;hwbreak+;vContSupported+;xmlRegisters=i386'))).toEqual([
      '+',
      'PacketSize=4000;qXfer:features:read+;QStartNoAckMode+;vContSupported+;ReverseStep+;ReverseContinue+;swbreak+',
    ]);
    expect(await w.request('vMustReplyEmpty')).toEqual(['']);
    expect(await w.raw(framePacket('QStartNoAckMode'))).toEqual(['+', 'OK']);
    // No acks from now on.
    expect(await w.raw(framePacket('Hg0'))).toEqual(['OK']);
    const xml = await w.one('qXfer:features:read:target.xml:0,ffb');
    expect(xml[0]).toBe('m'); // more than 0xffb bytes: gdb asks for the rest
    expect(xml).toContain('<architecture>i386:x86-64</architecture>');
    expect(await w.one('qXfer:features:read:other.xml:0,ffb')).toBe('E00');
    expect(await w.one('?')).toBe('T05thread:1;');
    expect(await w.one('qfThreadInfo')).toBe('m1');
    expect(await w.one('qsThreadInfo')).toBe('l');
    expect(await w.one('qC')).toBe('QC1');
    expect(await w.one('qAttached')).toBe('1');
    expect(await w.one('qTStatus')).toBe('');
    expect(await w.one('vCont?')).toBe('vCont;c;C;s;S');
  });

  it('serves target.xml in pieces', async () => {
    const w = new WireClient(new FakeCore(program()));
    let doc = '';
    for (let off = 0; ; off += 10) {
      const r = await w.one(`qXfer:features:read:target.xml:${off.toString(16)},a`);
      doc += r.slice(1);
      if (r[0] === 'l') break;
      expect(r[0]).toBe('m');
    }
    expect(doc).toMatch(/^<\?xml version="1.0"\?>[\s\S]*<osabi>GNU\/Linux<\/osabi>[\s\S]*<\/target>\n$/);
    // Every register of the layout, at its packet position.
    const regs = [...doc.matchAll(/<reg name="(\w+)" bitsize="(\d+)" type="\w+" regnum="(\d+)"/g)];
    expect(regs.map((m) => [m[1], Number(m[2]) / 8, Number(m[3])])).toEqual(REGISTER_LAYOUT.map((r, i) => [r.name, r.size, i]));
  });

  it('g carries gdb\'s amd64 layout; p and P address single registers', async () => {
    const core = new FakeCore(program());
    const w = new WireClient(core);
    const g = await w.one('g');
    // gdb's amd64 GNU/Linux set, then seamlab's 64-bit rflags.
    expect(REGISTER_BYTES).toBe(16 * 8 + 8 + 4 + 6 * 4 + 8 * 10 + 8 * 4 + 16 * 16 + 4 + 8 + 8 + 8 + 8);
    expect(g.length).toBe(REGISTER_BYTES * 2);
    // rbx is gdb's register 1 (0x3333 in the fake), rip 16, eflags 17 (32-bit), cs 18.
    expect(g.slice(16, 32)).toBe('3333000000000000');
    expect(await w.one('p10')).toBe('0010000000000000');
    expect(await w.one('p11')).toBe('02020000');
    expect(await w.one('p12')).toBe('10000000');
    const rflags = REGISTER_LAYOUT.findIndex((r) => r.name === 'rflags');
    expect(await w.one(`p${rflags.toString(16)}`)).toBe('0202000000000000');
    const origRax = REGISTER_LAYOUT.findIndex((r) => r.name === 'orig_rax');
    expect(await w.one(`p${origRax.toString(16)}`)).toBe('ffffffffffffffff');
    expect(await w.one('p400')).toBe('E16');
    expect(await w.one('P1=4200000000000000')).toBe('OK');
    expect(core.regs.rbx).toBe(0x42n);
    // x87/SSE state is not modelled: only its value (zero) can be written.
    const xmm0 = REGISTER_LAYOUT.findIndex((r) => r.name === 'xmm0').toString(16);
    expect(await w.one(`P${xmm0}=${'00'.repeat(16)}`)).toBe('OK');
    expect(await w.one(`P${xmm0}=${'01'.repeat(16)}`)).toBe('E01');
    expect(await w.one('P1=42')).toBe('E16');
    // G writes back what changed.
    const regs = Buffer.from(g, 'hex');
    regs.writeBigUInt64LE(0x77n, 8 * 3); // rdx
    regs.writeUInt32LE(0x203, 17 * 8); // eflags, after 17 8-byte registers; rflags is left as it was
    expect(await w.one('G' + regs.toString('hex'))).toBe('OK');
    expect(core.calls.filter((c) => c.startsWith('writeRegister'))).toEqual(['writeRegister rbx=0x42', 'writeRegister rbx=0x3333', 'writeRegister rdx=0x77', 'writeRegister rflags=0x203']);
    expect(core.rflags).toBe(0x203n);
    expect(await w.one('G00')).toBe('E16');
  });

  it('m reads memory (the readable prefix), M and X write it', async () => {
    const core = new FakeCore(program());
    const w = new WireClient(core);
    expect(await w.one('m1000,4')).toBe('00010203');
    expect(await w.one('m10fe,4')).toBe('feff');
    expect(await w.one('m0,4')).toBe('E0e');
    expect(await w.one('m1000')).toBe('E16');
    expect(await w.one('mzz,4')).toBe('E16');
    expect(await w.one('M8000,2:abcd')).toBe('OK');
    expect(await w.one('m8000,2')).toBe('abcd');
    expect(await w.one('M8000,2:abc')).toBe('E16');
    // X: binary, with the escaped bytes '}' and '#'.
    expect(await w.one(Uint8Array.of(...bytes('X8010,3:'), 0x7d, 0x23, 0x01))).toBe('OK');
    expect(await w.one('m8010,3')).toBe('7d2301');
    expect(await w.one('X8010,0:')).toBe('OK');
    // A write the core refuses is an error reply, not a crash.
    expect(await w.one('M0,1:00')).toBe('E01');
  });

  it('Z0/z0 insert and remove address breakpoints; c stops at one with swbreak', async () => {
    const core = new FakeCore(program());
    const w = new WireClient(core);
    expect(await w.one('Z0,1008,1')).toBe('OK');
    expect(await w.one('Z0,1008,1')).toBe('OK'); // the same one again: no second core breakpoint
    expect(await w.one('c')).toBe('T05thread:1;swbreak:;');
    expect(core.rip).toBe(0x1008n);
    expect(await w.one('z0,1008,1')).toBe('OK');
    expect(await w.one('z0,1008,1')).toBe('OK');
    expect(core.calls.filter((c) => /Breakpoint/.test(c))).toEqual(['addBreakpoint 0x1008', 'removeBreakpoint 1']);
    expect(await w.one('Z9,1008,1')).toBe('');
    expect(await w.one('Z0,zz,1')).toBe('E16');
  });

  it('Z2/Z3/Z4 are memory watchpoints; a hit reports watch:ADDR', async () => {
    const core = new FakeCore(program({ writes: new Map([[2, { address: 0x8008n, bytes: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) }]]) }));
    const w = new WireClient(core);
    expect(await w.one('Z2,8008,8')).toBe('OK');
    expect(await w.one('Z3,8000,4')).toBe('OK');
    expect(await w.one('Z4,8020,8')).toBe('OK');
    expect(core.calls.filter((c) => c.startsWith('addWatch'))).toEqual(['addWatchpoint write 0x8008/8', 'addWatchpoint read 0x8000/4', 'addWatchpoint access 0x8020/8']);
    expect(await w.one('vCont;c')).toBe('T05thread:1;watch:8008;');
    expect(await w.one('z2,8008,8')).toBe('OK');
    expect(await w.one('Z2,8008,0')).toBe('E16');
  });

  it('steps forwards (s, vCont;s:1;c) and backwards (bs, bc), with replaylog at the ends', async () => {
    const core = new FakeCore(program());
    const w = new WireClient(core);
    expect(await w.one('vCont;s:1;c')).toBe('T05thread:1;');
    expect(await w.one('vCont;s:p1.1;c')).toBe('T05thread:1;');
    expect(await w.one('s')).toBe('T05thread:1;');
    expect(core.position).toBe(3);
    expect(await w.one('bs')).toBe('T05thread:1;');
    expect(core.position).toBe(2);
    expect(await w.one('Z0,1001,1')).toBe('OK');
    expect(await w.one('bc')).toBe('T05thread:1;swbreak:;');
    expect(core.rip).toBe(0x1001n);
    expect(await w.one('bc')).toBe('T05thread:1;replaylog:begin;');
    expect(core.position).toBe(0);
    expect(await w.one('z0,1001,1')).toBe('OK');
    // To the end of the run: gdb is told on its console, and the run stays to be reversed.
    const end = await w.request('c');
    expect(end).toHaveLength(2);
    expect(Buffer.from(end[0]!.slice(1), 'hex').toString()).toMatch(/^seamlab: the run ended after 5 instructions \(returned\); returned 0x0/);
    expect(end[1]).toBe('T05thread:1;replaylog:end;');
    expect(await w.one('bs')).toBe('T05thread:1;');
    expect(core.calls.filter((c) => /step|continue|reverse/i.test(c))).toEqual([
      'stepInstruction 1', 'stepInstruction 1', 'stepInstruction 1', 'reverseStepInstruction 1', 'reverseContinue', 'reverseContinue', 'continue', 'reverseStepInstruction 1',
    ]);
    expect(await w.one('vCont;x')).toBe('E16');
    expect(await w.one('c1000')).toBe('E16');
  });

  it('the interrupt byte stops a running continue (T02)', async () => {
    const core = new FakeCore(program({ loop: true }));
    const w = new WireClient(core);
    const running = w.session.receive(framePacket('c'));
    await new Promise((r) => setTimeout(r, 20));
    await w.session.receive(Uint8Array.of(0x03));
    await running;
    expect(w.take().filter((x) => x !== '+')).toEqual(['T02thread:1;']);
    expect(core.calls).toContain('interrupt');
  });

  it('bad checksums get -, oversized packets an error, unknown packets the empty reply', async () => {
    const w = new WireClient(new FakeCore(program()));
    expect(await w.raw('$g#00')).toEqual(['-']);
    const big = 'm'.repeat(20000);
    expect(await w.raw(framePacket(big))).toEqual(['+', 'E01']);
    expect(await w.request('qXyzzy')).toEqual(['']);
    expect(await w.request('vFile:setfs:0')).toEqual(['']);
  });

  it('a nack makes the stub send its last reply again', async () => {
    const w = new WireClient(new FakeCore(program()));
    expect(await w.request('qC')).toEqual(['QC1']);
    expect(await w.raw('-')).toEqual(['QC1']);
  });

  it('D detaches, k kills: the session ends and the stub breakpoints are removed', async () => {
    const core = new FakeCore(program());
    const w = new WireClient(core);
    await w.request('Z0,1004,1');
    expect(await w.request('D;a410')).toEqual(['OK']);
    expect(w.ended).toBe('detach');
    expect(core.calls.at(-1)).toBe('removeBreakpoint 1');
    expect(await w.request('g')).toEqual([]);
    const w2 = new WireClient(new FakeCore(program()));
    expect(await w2.request('k')).toEqual([]);
    expect(w2.ended).toBe('kill');
  });
});
