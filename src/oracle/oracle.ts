/**
 * The silicon oracle: one scenario, run on Unicorn and on the host CPU from
 * the same plan, compared instruction by instruction (compare.ts). The CPU
 * is started first and single-steps in its own process while Unicorn runs
 * the same call here; then the CPU's steps are collected.
 */
import { loadDisassembler, type DisasmInsn, type Disassembler } from '../encode/capstone.js';
import type { Image } from '../image/types.js';
import { Machine } from '../machine/machine.js';
import { prepareRun, type RunFunction } from '../run/run.js';
import type { Scenario } from '../seam/scenario.js';
import { compareOracleTraces, sourceLine, type OracleDivergence } from './compare.js';
import { ORACLE_BUDGET, SiliconSession, type SiliconRunOptions } from './silicon.js';
import { UnicornStepRecorder, type MemorySnapshot, type OracleTrace, type OracleEnd } from './step-trace.js';
import { imageBytes } from '../image/bytes.js';

export interface OracleRunOptions extends SiliconRunOptions {
  revision: string;
  profile?: string;
}

export interface OracleRunResult {
  revision: string;
  profile: string;
  function: string;
  scenario: string;
  /** Instructions Unicorn executed (the CPU executed as many unless they diverged). */
  instructions: number;
  end: OracleEnd;
  divergence?: OracleDivergence;
  /** A change escaped the runner's per-step scan, so the CPU ran again comparing every page. */
  exactRerun: boolean;
  unicorn: OracleTrace;
  silicon: OracleTrace;
  /** The writable memory both runs started from (non-zero runs; the rest is zero). */
  memory: MemorySnapshot[];
}

export class Oracle {
  private readonly machines = new Map<Image, Machine>();
  private readonly decoded = new Map<Image, Map<bigint, DisasmInsn | undefined>>();

  private constructor(readonly session: SiliconSession, readonly disassembler: Disassembler) {}

  /** Starts the runner (see SiliconSession.open) and loads Capstone. */
  static async open(session?: SiliconSession): Promise<Oracle> {
    const disassembler = await loadDisassembler();
    return new Oracle(session ?? SiliconSession.open(), disassembler);
  }

  close(): void {
    for (const m of this.machines.values()) m.close();
    this.machines.clear();
    this.session.close();
  }

  /** One machine per image, reused by every run on it (as the main job does). */
  machineFor(image: Image): Machine {
    let m = this.machines.get(image);
    if (!m) {
      m = new Machine(image);
      this.machines.set(image, m);
    }
    return m;
  }

  /** The instruction at a Unicorn address of the image, or undefined outside it. */
  disassemble(image: Image, address: bigint): DisasmInsn | undefined {
    let cache = this.decoded.get(image);
    if (!cache) this.decoded.set(image, (cache = new Map<bigint, DisasmInsn | undefined>()));
    if (cache.has(address)) return cache.get(address);
    const bytes = image.sections.some((s) => s.flags.exec && address >= s.address && address < s.address + BigInt(s.bytes.length)) ? imageBytes(image, address) : undefined;
    const insn: DisasmInsn | undefined = bytes ? this.disassembler.decodeOne(bytes, 0, address) : undefined;
    cache.set(address, insn);
    return insn;
  }

  /** Runs `scenario` against `fn` on Unicorn and on the CPU and compares the two runs. */
  run(image: Image, fn: RunFunction, scenario: Scenario, opts: OracleRunOptions): OracleRunResult {
    const machine = this.machineFor(image);
    const recorder = new UnicornStepRecorder(machine);
    const budget = opts.budget ?? ORACLE_BUDGET;
    const prepared = prepareRun(image, fn, scenario, { revision: opts.revision, ...(opts.profile ? { profile: opts.profile } : {}), machine, observers: [recorder], budget });
    let silicon: OracleTrace;
    let memory: MemorySnapshot[];
    let unicorn: OracleTrace;
    try {
      const cpu = this.session.start(prepared, { ...opts, budget });
      prepared.execution.finish();
      unicorn = recorder.trace();
      silicon = cpu.finish();
      memory = cpu.memory;
    } finally {
      prepared.close();
    }
    if (silicon.unattributed.length > 0 && !opts.exactWrites) {
      return { ...this.run(image, fn, scenario, { ...opts, exactWrites: true }), exactRerun: true };
    }
    const divergence = compareOracleTraces(unicorn, silicon, {
      relocation: silicon.relocation!, memory,
      disassemble: (a) => this.disassemble(image, a),
      locate: (a) => sourceLine(machine.map, a),
    });
    return {
      revision: opts.revision, profile: opts.profile ?? image.profile, function: fn.name, scenario: scenario.name,
      instructions: unicorn.steps.length, end: unicorn.end, ...(divergence ? { divergence } : {}), exactRerun: false, unicorn, silicon, memory,
    };
  }
}
