/**
 * The GDB stub's command table: one entry per packet it understands, each
 * mapping the packet onto the debugger core (src/gdb/core.ts). Packets not
 * in the table get the empty reply ("not supported"), as the protocol asks.
 * Handlers never throw on malformed arguments: they answer `E..`.
 *
 * Lookup (`findCommand`): the longest name the payload starts with; a name
 * longer than one character must end where the payload's name ends (the
 * next character is not a letter), so `qC` does not take `qCRC:…`.
 */
import type { CpuState } from '../machine/cpu-state.js';
import type { CoreStopEvent, GdbCore, WatchAccess } from './core.js';
import { MAX_PACKET } from './packet.js';
import { REGISTER_LAYOUT, decodeRegisters, encodeRegisters } from './registers.js';
import { fromLittleEndian, toLittleEndian } from '../support/memory.js';
import { TARGET_XML } from './target-xml.js';

/** A reply payload (framed by the session), or undefined for no reply at all. */
export type Reply = string | Uint8Array | undefined;

export type ResumeKind = 'continue' | 'step' | 'reverse-step' | 'reverse-continue';

/** What handlers can use and change; the session implements it. */
export interface StubContext {
  readonly core: GdbCore;
  /** Runs the core and answers with the stop reply when it stops. */
  resume(kind: ResumeKind): Promise<Reply>;
  /** Turns acknowledgements off after this reply (QStartNoAckMode). */
  startNoAck(): void;
  /** Ends the session after this reply (D, k). */
  end(how: 'detach' | 'kill'): void;
  /** Breakpoints and watchpoints gdb inserted, by what it sent ("0:ffffffff81000000:1"). */
  readonly inserted: Map<string, { id: number; watch?: { access: WatchAccess; address: bigint } }>;
}

export interface CommandSpec {
  name: string;
  /** `args` is the payload after the name (latin1); `payload` the whole packet, for binary data. */
  handle(ctx: StubContext, args: string, payload: Uint8Array): Reply | Promise<Reply>;
}

const THREAD = 1;
const OK = 'OK';
/** EINVAL: malformed arguments. */
const E_ARGS = 'E16';
/** EFAULT: memory that cannot be read or written. */
const E_FAULT = 'E0e';
/** The register or value cannot be set. */
const E_REG = 'E01';

const HEX = /^[0-9a-fA-F]+$/;

/** A hex number, or undefined when the text is not one (empty, other characters, over 64 bits). */
export function parseHex(text: string): bigint | undefined {
  if (!HEX.test(text) || text.length > 16) return undefined;
  return BigInt('0x' + text);
}

function parseHexBytes(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0 || (text.length > 0 && !HEX.test(text))) return undefined;
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

const hexOf = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** The most memory one `m` reply carries (two hex digits a byte, within the packet size gdb was told). */
const MAX_READ = (MAX_PACKET - 16) >> 1;

/** "addr,len" → numbers, or undefined. */
function addrLen(text: string): { address: bigint; length: number } | undefined {
  const [a, l, ...rest] = text.split(',');
  if (rest.length > 0 || a === undefined || l === undefined) return undefined;
  const address = parseHex(a);
  const length = parseHex(l);
  if (address === undefined || length === undefined || length > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return { address, length: Number(length) };
}

/** The longest readable prefix of [address, address+length). */
function readPrefix(core: GdbCore, address: bigint, length: number): Uint8Array {
  const whole = core.readMemory(address, length);
  if (whole) return whole;
  const out: number[] = [];
  for (let i = 0; i < length; i++) {
    const b = core.readMemory(address + BigInt(i), 1);
    if (!b || b.length === 0) break;
    out.push(b[0]!);
  }
  return Uint8Array.from(out);
}

/** `qXfer:…:read` reply for offset,length into a document. */
function xferSlice(doc: string, args: string): Reply {
  const req = addrLen(args);
  if (!req) return E_ARGS;
  const bytes = Buffer.from(doc, 'utf8');
  const from = Number(req.address > BigInt(bytes.length) ? BigInt(bytes.length) : req.address);
  const chunk = bytes.subarray(from, from + Math.min(req.length, MAX_READ));
  const last = from + chunk.length >= bytes.length;
  return Uint8Array.from([last ? 0x6c : 0x6d, ...chunk]); // 'l' last, 'm' more
}

/** The stop reply for where the core stopped: `T05` (SIGTRAP) or `T02` (SIGINT) with the thread and why (swbreak, watch, replaylog). */
export function stopReply(ctx: Pick<StubContext, 'inserted'>, ev: CoreStopEvent): string {
  const parts = [`thread:${THREAD.toString(16)};`];
  let signal = 5; // SIGTRAP
  switch (ev.reason) {
    case 'interrupted':
      signal = 2; // SIGINT
      break;
    case 'breakpoint':
      parts.push('swbreak:;');
      break;
    case 'watchpoint': {
      const w = ev.watch ? [...ctx.inserted.values()].find((x) => x.id === ev.watch!.id)?.watch : undefined;
      if (w) {
        const kind = w.access === 'write' ? 'watch' : w.access === 'read' ? 'rwatch' : 'awatch';
        parts.push(`${kind}:${(ev.watch!.address ?? w.address).toString(16)};`);
      }
      break;
    }
    case 'start-of-run':
      parts.push('replaylog:begin;');
      break;
    case 'exited':
      parts.push('replaylog:end;');
      break;
    default:
      break;
  }
  return `T${signal.toString(16).padStart(2, '0')}${parts.join('')}`;
}

/** A line for gdb's console about a stop gdb has no words for (the end of the run), or undefined. */
export function stopMessage(ev: CoreStopEvent): string | undefined {
  if (ev.reason !== 'exited') return undefined;
  const end = ev.end ? ` (${ev.end.kind})` : '';
  const ret = ev.result?.returnValue !== undefined ? `; returned 0x${BigInt.asUintN(64, ev.result.returnValue).toString(16)}${ev.result.returnName ? ` ${ev.result.returnName}` : ''}` : '';
  return `seamlab: the run ended after ${ev.position} instructions${end}${ret}; reverse-stepi/reverse-continue go back\n`;
}

/** The first vCont action that applies to our one thread: 'c' or 's' (signals are ignored: a run has none). */
function vContAction(args: string): 'continue' | 'step' | undefined {
  if (!args.startsWith(';')) return undefined;
  for (const action of args.slice(1).split(';')) {
    const [what, tid] = action.split(':');
    if (tid !== undefined && !/^(p-?[0-9a-f]+\.)?(-1|0|1)$/i.test(tid)) continue;
    if (what === 'c' || /^C[0-9a-fA-F]{2}$/.test(what ?? '')) return 'continue';
    if (what === 's' || /^S[0-9a-fA-F]{2}$/.test(what ?? '')) return 'step';
    return undefined;
  }
  return undefined;
}

const WATCH_ACCESS: Record<string, WatchAccess> = { '2': 'write', '3': 'read', '4': 'access' };

/** Z/z type,addr,kind. */
function zArgs(args: string): { type: string; address: bigint; kind: number } | undefined {
  const [type, a, k] = args.split(';')[0]!.split(',');
  const address = parseHex(a ?? '');
  const kind = parseHex(k ?? '');
  if (type === undefined || address === undefined || kind === undefined || kind > 4096n) return undefined;
  return { type, address, kind: Number(kind) };
}

function insert(ctx: StubContext, args: string): Reply {
  const z = zArgs(args);
  if (!z) return E_ARGS;
  const key = `${z.type}:${z.address.toString(16)}:${z.kind}`;
  if (ctx.inserted.has(key)) return OK;
  if (z.type === '0' || z.type === '1') {
    ctx.inserted.set(key, { id: ctx.core.addBreakpoint({ kind: 'address', address: z.address }).id });
    return OK;
  }
  const access = WATCH_ACCESS[z.type];
  if (!access) return ''; // unsupported type
  if (z.kind < 1) return E_ARGS;
  const w = ctx.core.addWatchpoint({ kind: 'memory', address: z.address, size: z.kind, access });
  ctx.inserted.set(key, { id: w.id, watch: { access, address: z.address } });
  return OK;
}

function remove(ctx: StubContext, args: string): Reply {
  const z = zArgs(args);
  if (!z) return E_ARGS;
  if (z.type !== '0' && z.type !== '1' && !WATCH_ACCESS[z.type]) return '';
  const key = `${z.type}:${z.address.toString(16)}:${z.kind}`;
  const hit = ctx.inserted.get(key);
  if (!hit) return OK;
  ctx.inserted.delete(key);
  if (hit.watch) ctx.core.removeWatchpoint(hit.id);
  else ctx.core.removeBreakpoint(hit.id);
  return OK;
}

/**
 * Writes one register slot if `value` differs from what it held in `before`
 * (the registers when the packet arrived: a `G` that changes eflags but
 * not rflags must not write the old rflags back over it).
 */
function writeSlot(ctx: StubContext, index: number, value: bigint, before: CpuState): Reply {
  const slot = REGISTER_LAYOUT[index]!;
  if (BigInt.asUintN(slot.size * 8, slot.read(before)) === value) return OK;
  if (!slot.core) return E_REG;
  ctx.core.writeRegister(slot.core, value);
  return OK;
}

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'qSupported',
    handle: () =>
      `PacketSize=${MAX_PACKET.toString(16)};qXfer:features:read+;QStartNoAckMode+;vContSupported+;ReverseStep+;ReverseContinue+;swbreak+`,
  },
  { name: 'vMustReplyEmpty', handle: () => '' },
  {
    name: 'QStartNoAckMode',
    handle: (ctx) => {
      ctx.startNoAck();
      return OK;
    },
  },
  {
    name: 'qXfer:features:read:',
    handle: (_ctx, args) => {
      const colon = args.indexOf(':');
      if (colon < 0) return E_ARGS;
      if (args.slice(0, colon) !== 'target.xml') return 'E00';
      return xferSlice(TARGET_XML, args.slice(colon + 1));
    },
  },
  { name: '?', handle: (ctx) => stopReply(ctx, ctx.core.stopEvent()) },
  { name: 'g', handle: (ctx) => hexOf(encodeRegisters(ctx.core.registers())) },
  {
    name: 'G',
    handle: (ctx, args) => {
      const bytes = parseHexBytes(args);
      const values = bytes && decodeRegisters(bytes);
      if (!values) return E_ARGS;
      const before = ctx.core.registers();
      for (let i = 0; i < values.length; i++) {
        const r = writeSlot(ctx, i, values[i]!, before);
        if (r !== OK) return r;
      }
      return OK;
    },
  },
  {
    name: 'p',
    handle: (ctx, args) => {
      const n = parseHex(args);
      if (n === undefined) return E_ARGS;
      const slot = REGISTER_LAYOUT[Number(n)];
      // An unknown register: gdb reads it as unavailable.
      if (n >= BigInt(REGISTER_LAYOUT.length) || !slot) return E_ARGS;
      return hexOf(toLittleEndian(slot.read(ctx.core.registers()), slot.size));
    },
  },
  {
    name: 'P',
    handle: (ctx, args) => {
      const [n, v] = args.split('=');
      const index = parseHex(n ?? '');
      if (index === undefined || index >= BigInt(REGISTER_LAYOUT.length)) return E_ARGS;
      const bytes = parseHexBytes(v ?? '');
      if (!bytes || bytes.length !== REGISTER_LAYOUT[Number(index)]!.size) return E_ARGS;
      return writeSlot(ctx, Number(index), fromLittleEndian(bytes), ctx.core.registers());
    },
  },
  {
    name: 'm',
    handle: (ctx, args) => {
      const req = addrLen(args);
      if (!req) return E_ARGS;
      const bytes = readPrefix(ctx.core, req.address, Math.min(req.length, MAX_READ));
      return bytes.length === 0 && req.length > 0 ? E_FAULT : hexOf(bytes);
    },
  },
  {
    name: 'M',
    handle: (ctx, args) => {
      const [where, data] = args.split(':');
      const req = addrLen(where ?? '');
      const bytes = parseHexBytes(data ?? '');
      if (!req || !bytes || bytes.length !== req.length) return E_ARGS;
      if (bytes.length > 0) ctx.core.writeMemory(req.address, bytes);
      return OK;
    },
  },
  {
    name: 'X',
    handle: (ctx, args, payload) => {
      const colon = args.indexOf(':');
      const req = colon < 0 ? undefined : addrLen(args.slice(0, colon));
      // Binary data: the payload's bytes after the colon (already unescaped).
      const data = payload.subarray(1 + colon + 1);
      if (!req || data.length !== req.length) return E_ARGS;
      if (data.length > 0) ctx.core.writeMemory(req.address, data);
      return OK;
    },
  },
  { name: 'Z', handle: (ctx, args) => insert(ctx, args) },
  { name: 'z', handle: (ctx, args) => remove(ctx, args) },
  { name: 'vCont?', handle: () => 'vCont;c;C;s;S' },
  {
    name: 'vCont',
    handle: (ctx, args) => {
      const action = vContAction(args);
      return action ? ctx.resume(action) : E_ARGS;
    },
  },
  // `c [addr]` / `s [addr]`: resuming elsewhere is not supported (the run's position is the core's).
  { name: 'c', handle: (ctx, args) => (args === '' ? ctx.resume('continue') : E_ARGS) },
  { name: 's', handle: (ctx, args) => (args === '' ? ctx.resume('step') : E_ARGS) },
  { name: 'C', handle: (ctx, args) => (/^[0-9a-fA-F]{2}$/.test(args) ? ctx.resume('continue') : E_ARGS) },
  { name: 'S', handle: (ctx, args) => (/^[0-9a-fA-F]{2}$/.test(args) ? ctx.resume('step') : E_ARGS) },
  { name: 'bs', handle: (ctx, args) => (args === '' ? ctx.resume('reverse-step') : E_ARGS) },
  { name: 'bc', handle: (ctx, args) => (args === '' ? ctx.resume('reverse-continue') : E_ARGS) },
  { name: 'H', handle: () => OK },
  { name: 'T', handle: (_ctx, args) => (/^(p-?[0-9a-f]+\.)?(1|-1|0)$/i.test(args) ? OK : 'E01') },
  { name: 'qfThreadInfo', handle: () => `m${THREAD.toString(16)}` },
  { name: 'qsThreadInfo', handle: () => 'l' },
  { name: 'qC', handle: () => `QC${THREAD.toString(16)}` },
  // Attached to an existing run: gdb detaches rather than kills when it quits.
  { name: 'qAttached', handle: () => '1' },
  {
    name: 'D',
    handle: (ctx) => {
      ctx.end('detach');
      return OK;
    },
  },
  {
    name: 'k',
    handle: (ctx) => {
      ctx.end('kill');
      return undefined;
    },
  },
  {
    name: 'vKill',
    handle: (ctx) => {
      ctx.end('kill');
      return OK;
    },
  },
];

const isLetter = (c: string | undefined) => c !== undefined && /[A-Za-z]/.test(c);

const BY_LENGTH = [...COMMANDS].sort((a, b) => b.name.length - a.name.length);

/** The command a payload names, and the arguments after its name. */
export function findCommand(text: string): { command: CommandSpec; args: string } | undefined {
  for (const c of BY_LENGTH) {
    if (!text.startsWith(c.name)) continue;
    const next = text[c.name.length];
    const boundary = c.name.length === 1 || !/[A-Za-z]$/.test(c.name) || !isLetter(next);
    if (boundary) return { command: c, args: text.slice(c.name.length) };
  }
  return undefined;
}
