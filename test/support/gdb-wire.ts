/**
 * A minimal gdb side of the Remote Serial Protocol for the stub's tests:
 * frames packets, feeds them to a GdbSession, and splits what the stub
 * sends back into acks and reply payloads.
 */
import { PacketReader, framePacket } from '../../src/gdb/packet.js';
import { GdbSession } from '../../src/gdb/session.js';
import type { GdbCore } from '../../src/gdb/core.js';

export class WireClient {
  readonly session: GdbSession;
  readonly sent: Uint8Array[] = [];
  ended: string | undefined;
  private readonly reader = new PacketReader(1 << 20);

  constructor(core: GdbCore) {
    this.session = new GdbSession(core, {
      send: (b) => this.sent.push(Uint8Array.from(b)),
      onEnd: (how) => (this.ended = how),
    });
  }

  /** Everything the stub sent since the last call, as "+", "-" and packet payloads (latin1). */
  take(): string[] {
    const out: string[] = [];
    for (const chunk of this.sent.splice(0)) {
      for (const ev of this.reader.feed(chunk)) {
        if (ev.kind === 'ack') out.push('+');
        else if (ev.kind === 'nack') out.push('-');
        else if (ev.kind === 'packet') out.push(Buffer.from(ev.payload).toString('latin1'));
        else out.push(`<${ev.kind}>`);
      }
    }
    return out;
  }

  async raw(bytes: string | Uint8Array): Promise<string[]> {
    await this.session.receive(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
    return this.take();
  }

  /** Sends one packet; returns the reply payloads (acks dropped). */
  async request(payload: string | Uint8Array): Promise<string[]> {
    return (await this.raw(framePacket(payload))).filter((x) => x !== '+');
  }

  async one(payload: string | Uint8Array): Promise<string> {
    const r = await this.request(payload);
    if (r.length !== 1) throw new Error(`expected one reply to ${String(payload)}, got ${JSON.stringify(r)}`);
    return r[0]!;
  }
}
