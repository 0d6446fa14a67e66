/**
 * One gdb connection: bytes in (from the socket, or a test), bytes out.
 * Frames packets with src/gdb/packet.ts, acknowledges them until
 * `QStartNoAckMode`, looks them up in the command table
 * (src/gdb/commands.ts) and runs one at a time. While the core runs
 * (`continue`), the 0x03 interrupt byte reaches the core at once; other
 * packets wait for the stop reply.
 */
import { findCommand, stopMessage, stopReply, type Reply, type ResumeKind, type StubContext } from './commands.js';
import type { CoreStopEvent, GdbCore, WatchAccess } from './core.js';
import { MAX_PACKET, PacketReader, framePacket, type ReaderEvent } from './packet.js';

export interface SessionOptions {
  /** Writes bytes to gdb. */
  send(bytes: Uint8Array): void;
  /** Called once when the session ends: gdb detached or killed, or the connection closed. */
  onEnd?(how: 'detach' | 'kill' | 'closed'): void;
  /** Every packet received and reply sent, for `--gdb-log` style tracing and tests. */
  log?(direction: 'recv' | 'send', text: string): void;
  maxPacket?: number;
}

/** A reply for a packet the stub could not use (oversized, or a handler that failed). */
const E_PACKET = 'E01';

export class GdbSession implements StubContext {
  readonly inserted = new Map<string, { id: number; watch?: { access: WatchAccess; address: bigint } }>();
  private readonly reader: PacketReader;
  private noAck = false;
  private pendingNoAck = false;
  private ended: 'detach' | 'kill' | 'closed' | undefined;
  private pendingEnd: 'detach' | 'kill' | undefined;
  private running = false;
  private readonly queue: ReaderEvent[] = [];
  private draining: Promise<void> = Promise.resolve();
  private lastSent: Uint8Array | undefined;

  constructor(readonly core: GdbCore, private readonly opts: SessionOptions) {
    this.reader = new PacketReader(opts.maxPacket ?? MAX_PACKET);
  }

  /** Bytes from gdb. Never throws. Resolves when everything received so far has been answered. */
  receive(bytes: Uint8Array): Promise<void> {
    if (this.ended) return this.draining;
    for (const ev of this.reader.feed(bytes)) {
      if (ev.kind === 'interrupt') {
        // Only meaningful while the core runs; gdb sends it for Ctrl-C.
        if (this.running) this.core.interrupt();
        continue;
      }
      if (ev.kind === 'ack') continue;
      if (ev.kind === 'nack') {
        if (!this.noAck && this.lastSent) this.write(this.lastSent);
        continue;
      }
      this.queue.push(ev);
    }
    this.draining = this.draining.then(() => this.drain());
    return this.draining;
  }

  /** The connection went away. */
  close(): void {
    this.finish('closed');
  }

  get isEnded(): boolean {
    return this.ended !== undefined;
  }

  // StubContext
  startNoAck(): void {
    this.pendingNoAck = true;
  }

  end(how: 'detach' | 'kill'): void {
    this.pendingEnd = how;
  }

  async resume(kind: ResumeKind): Promise<Reply> {
    let ev: CoreStopEvent;
    switch (kind) {
      case 'step':
        ev = this.core.stepInstruction(1);
        break;
      case 'reverse-step':
        ev = this.core.reverseStepInstruction(1);
        break;
      case 'reverse-continue':
        ev = this.core.reverseContinue();
        break;
      case 'continue':
        this.running = true;
        try {
          ev = await this.core.continueAsync();
        } finally {
          this.running = false;
        }
        break;
    }
    const message = stopMessage(ev);
    if (message !== undefined) this.sendPacket('O' + Buffer.from(message, 'utf8').toString('hex'));
    return stopReply(this, ev);
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.ended) {
      const ev = this.queue.shift()!;
      switch (ev.kind) {
        case 'bad-checksum':
          if (!this.noAck) this.write(Uint8Array.of(0x2d));
          break;
        case 'oversized':
          this.ack();
          this.opts.log?.('recv', `<oversized packet: ${ev.length} bytes>`);
          this.sendPacket(E_PACKET);
          break;
        case 'packet':
          this.ack();
          await this.handle(ev.payload);
          break;
        default:
          break;
      }
    }
  }

  private ack(): void {
    if (!this.noAck) this.write(Uint8Array.of(0x2b));
  }

  private async handle(payload: Uint8Array): Promise<void> {
    const text = Buffer.from(payload).toString('latin1');
    this.opts.log?.('recv', text);
    const found = findCommand(text);
    let reply: Reply;
    if (!found) reply = '';
    else {
      try {
        reply = await found.command.handle(this, found.args, payload);
      } catch (e) {
        // A request the core refused (a register it cannot write, memory outside the run): an error reply, the session goes on.
        this.opts.log?.('send', `<error: ${e instanceof Error ? e.message : String(e)}>`);
        reply = E_PACKET;
      }
    }
    if (reply !== undefined) this.sendPacket(reply);
    if (this.pendingNoAck) {
      this.noAck = true;
      this.pendingNoAck = false;
    }
    if (this.pendingEnd) this.finish(this.pendingEnd);
  }

  private sendPacket(reply: string | Uint8Array): void {
    this.opts.log?.('send', typeof reply === 'string' ? reply : Buffer.from(reply).toString('latin1'));
    const framed = framePacket(reply);
    this.lastSent = framed;
    this.write(framed);
  }

  private write(bytes: Uint8Array): void {
    if (this.ended) return;
    this.opts.send(bytes);
  }

  private finish(how: 'detach' | 'kill' | 'closed'): void {
    if (this.ended) return;
    this.ended = how;
    this.queue.length = 0;
    // Leave the core as gdb found it: no stub breakpoints or watchpoints left behind.
    for (const x of this.inserted.values()) {
      try {
        if (x.watch) this.core.removeWatchpoint(x.id);
        else this.core.removeBreakpoint(x.id);
      } catch {
        // The core is being torn down: nothing to leave behind.
      }
    }
    this.inserted.clear();
    if (this.running) this.core.interrupt();
    this.opts.onEnd?.(how);
  }
}
