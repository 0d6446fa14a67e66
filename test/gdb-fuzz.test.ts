/**
 * Fuzzing the GDB stub's packet layer with fast-check: random bytes, and
 * random packets that look valid (real command names, argument-like
 * characters, right or wrong checksums), fed in random pieces to a session
 * over the scripted core. Nothing may throw or hang, everything the stub
 * sends must be a well-formed frame or an ack, and the reader never holds
 * more than its limit.
 *
 * The seed is fixed so a failure reproduces; SEAMLAB_FUZZ_SEED and
 * SEAMLAB_FUZZ_RUNS change them, SEAMLAB_FUZZ_LONG=1 runs 100,000 inputs
 * per property (test/support/fuzz-runs.ts, issue 18 item 11).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMMANDS, findCommand } from '../src/gdb/commands.js';
import { PacketReader, framePacket, checksum } from '../src/gdb/packet.js';
import { FakeCore } from './support/gdb-fake-core.js';
import { WireClient } from './support/gdb-wire.js';
import { FUZZ_LONG, FUZZ_TIMEOUT_MS, fuzzRuns, fuzzSeed } from './support/fuzz-runs.js';

const seed = fuzzSeed(20250214);
const numRuns = fuzzRuns(300);

const newCore = () =>
  new FakeCore({
    path: Array.from({ length: 64 }, (_, i) => 0x1000n + BigInt(i * 3)),
    memory: [{ base: 0x1000n, bytes: new Uint8Array(0x200) }],
    writes: new Map([[5, { address: 0x1100n, bytes: Uint8Array.of(1, 2, 3, 4) }]]),
  });

/** Splits bytes into random pieces. */
const pieces = (data: Uint8Array, cuts: number[]) => {
  const at = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const c of [...at, data.length]) {
    out.push(data.subarray(from, c));
    from = c;
  }
  return out;
};

/** Feeds the pieces; checks that what came back is acks and well-formed packets only. */
async function feed(w: WireClient, chunks: Uint8Array[]): Promise<void> {
  for (const c of chunks) await w.session.receive(c);
  for (const x of w.take()) expect(x === '+' || x === '-' || !x.startsWith('<')).toBe(true);
}

const argChars = fc.constantFrom(...'0123456789abcdefABCDEF,:;=-.xXpP}#$*\x03+ '.split(''));
const packet = fc
  .tuple(fc.constantFrom(...COMMANDS.map((c) => c.name), 'qXfer:features:read:target.xml:', 'vCont;', 'qBogus', ''), fc.array(argChars, { maxLength: 40 }), fc.boolean())
  .map(([name, args, good]) => {
    const text = name + args.join('');
    const framed = framePacket(text);
    // A wrong second checksum digit.
    if (!good) framed[framed.length - 1] = framed[framed.length - 1] === 0x30 ? 0x31 : 0x30;
    return { text, framed, good };
  });

/** The stub's console output packets ("O" + hex of "seamlab: …"). */
const isConsole = (reply: string) => reply.startsWith('O' + Buffer.from('seamlab').toString('hex'));

describe('gdb packet layer fuzz', () => {
  it('the reader survives random bytes and stays within its limit', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 1, max: 300 }), (data, limit) => {
        const r = new PacketReader(limit);
        for (const ev of r.feed(data)) {
          if (ev.kind === 'packet') expect(ev.payload.length).toBeLessThanOrEqual(limit);
          if (ev.kind === 'packet') {
            // Only a packet whose checksum matched is delivered.
            expect(ev.payload).toBeInstanceOf(Uint8Array);
          }
        }
      }),
      { seed, numRuns: FUZZ_LONG ? numRuns : numRuns * 3 },
    );
    expect(checksum(new Uint8Array(0))).toBe(0);
  }, FUZZ_TIMEOUT_MS);

  it('a session survives random bytes in random pieces', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(), { maxLength: 8 }), async (data, cuts) => {
        const w = new WireClient(newCore());
        await feed(w, pieces(data, cuts));
      }),
      { seed, numRuns },
    );
  }, FUZZ_TIMEOUT_MS);

  it('a session survives random valid-looking packets, answering each one it accepts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(packet, { minLength: 1, maxLength: 30 }), fc.array(fc.nat(), { maxLength: 8 }), fc.boolean(), async (packets, cuts, noise) => {
        const w = new WireClient(newCore());
        const stream = Buffer.concat(packets.flatMap((p) => (noise ? [Buffer.from('x\r\n'), p.framed] : [p.framed])));
        const chunks = pieces(Uint8Array.from(stream), cuts);
        for (const c of chunks) await w.session.receive(c);
        const out = w.take();
        for (const x of out) expect(x.startsWith('<')).toBe(false);
        // One reply per packet with a good checksum, up to the one that ends the session (k has none).
        let expected = 0;
        for (const p of packets) {
          if (!p.good) continue;
          const name = findCommand(p.text)?.command.name;
          if (name !== 'k') expected++;
          if (name === 'D' || name === 'k' || name === 'vKill') break;
        }
        expect(out.filter((x) => x !== '+' && x !== '-' && !isConsole(x)).length).toBe(expected);
        // Still answering, unless gdb's side ended the session.
        if (!w.ended) expect(await w.request('qC')).toEqual(['QC1']);
      }),
      { seed, numRuns },
    );
  }, FUZZ_TIMEOUT_MS);
});
