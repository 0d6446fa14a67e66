/**
 * The reference harnesses the benchmark compares seamlab with, generated
 * for the very bytes seamlab runs (v3 `__seamcall` as seamlab's assembler
 * built it, and seamlab's batch driver loop):
 *
 * - native: a C program maps the function's section and calls it; a
 *   SIGILL/SIGSEGV handler serves SEAMCALL (#UD outside VMX operation, #GP at
 *   CPL 3) as the trivial handler does: RAX = 0, VMsucceed flags, RIP + 4;
 * - the emulator's limit: the same driver loop on libunicorn with a C hook
 *   at the SEAMCALL (no JavaScript at all), and with a C hook before every
 *   instruction recording RIP, length and 17 registers into a ring buffer;
 * - Python + Unicorn (Debian python3-unicorn): the driver loop with a code
 *   hook at the SEAMCALL, one emu_start per call (the naive harness), and a
 *   per-instruction hook reading the registers.
 *
 * Each program times its own work (not its start-up) and prints one number
 * per second. Our own code, compiled in the benchmark's temporary directory.
 */
import type { Image } from '../../src/image/types.js';
import type { DriverCode } from '../../src/image/batch-driver.js';
import { SourceMap } from '../../src/image/source-map.js';
import { DEFAULT_LAYOUT } from '../../src/machine/layout.js';
import { findTrapSites } from '../../src/machine/trap.js';
import { UC_ARCH_X86, UC_HOOK, UC_MODE_64, UC_PROT, X86_REG } from '../../src/machine/unicorn-consts.js';
import { ROW_HEADER } from '../../src/run/batch.js';
import { GPR_IDS, GPR_NAMES } from '../../src/machine/unicorn-consts.js';

/** What the harnesses need of the image: the function's section, where the function and its SEAMCALL are, the driver. */
export interface HarnessImage {
  text: Uint8Array;
  textAddress: bigint;
  fnAddress: bigint;
  siteAddress: bigint;
  driver: Uint8Array;
  driverEntry: number;
  /** Bytes per table row and the offset of the row's output struct (the sixth argument points there). */
  stride: number;
  outOffset: number;
}

export function harnessImage(image: Image, fnName: string, driver: DriverCode): HarnessImage {
  const sym = image.symbols.find((s) => s.name === fnName);
  if (!sym) throw new Error(`no symbol ${fnName}`);
  const text = image.sections.find((s) => s.name === sym.section)!;
  const site = findTrapSites(image, new SourceMap(image)).find((s) => s.address >= sym.address && s.address < sym.address + BigInt(Math.max(1, Number(sym.size))));
  if (!site) throw new Error(`${fnName} has no SEAMCALL`);
  // As runBatch lays rows out for __seamcall (one struct pointer, struct tdx_module_output): header, RAX slot, struct.
  const outOffset = ROW_HEADER + 8;
  return { text: text.bytes, textAddress: text.address, fnAddress: sym.address, siteAddress: site.address, driver: driver.bytes, driverEntry: driver.entry, stride: outOffset + 64, outOffset };
}

const bytesC = (b: Uint8Array) => [...b].join(',');
const hex = (v: bigint) => `0x${v.toString(16)}ULL`;
const L = DEFAULT_LAYOUT;
/** SEAMCALL's answer: VMsucceed clears CF PF AF ZF SF OF. */
const STATUS_FLAGS = '0x8d5';
const TRACE_REGS = [...GPR_NAMES.map((n) => GPR_IDS[n]), X86_REG.RFLAGS];

export function nativeSource(h: HarnessImage): string {
  return `#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
static const unsigned char code[] = { ${bytesC(h.text)} };
typedef uint64_t (*seamcall_fn)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, void *);
static void serve(int sig, siginfo_t *si, void *ctx) {
  (void)sig; (void)si;
  greg_t *g = ((ucontext_t *)ctx)->uc_mcontext.gregs;
  const unsigned char *ip = (const unsigned char *)g[REG_RIP];
  if (ip[0] != 0x66 || ip[1] != 0x0f || ip[2] != 0x01 || ip[3] != 0xcf) abort();
  g[REG_RAX] = 0;
  g[REG_EFL] &= ~${STATUS_FLAGS}LL;
  g[REG_RIP] += 4;
}
int main(int argc, char **argv) {
  long n = atol(argv[1]);
  unsigned char *mem = mmap(NULL, (sizeof code + 4095) & ~4095UL, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memcpy(mem, code, sizeof code);
  struct sigaction sa; memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = serve; sa.sa_flags = SA_SIGINFO;
  sigaction(SIGILL, &sa, NULL); sigaction(SIGSEGV, &sa, NULL);
  seamcall_fn f = (seamcall_fn)(mem + ${Number(h.fnAddress - h.textAddress)});
  uint64_t out[8];
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  uint64_t acc = 0;
  for (long i = 0; i < n; i++) acc += f(34, 0, 0x9100000100000008ULL, 0, 0, out);
  clock_gettime(CLOCK_MONOTONIC, &b);
  if (acc != 0) return 3;
  printf("%.1f\\n", n / ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9));
  return 0;
}
`;
}

/** The driver loop on libunicorn with C hooks: `seamcall N` (a hook at the SEAMCALL) or `trace N` (plus one before every instruction). */
export function unicornLimitSource(h: HarnessImage): string {
  return `#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
/* The libunicorn entry points used (unicorn/unicorn.h); constants from src/machine/unicorn-consts.ts. */
typedef void uc_engine;
typedef size_t uc_hook;
extern int uc_open(int arch, int mode, uc_engine **uc);
extern int uc_mem_map(uc_engine *uc, uint64_t address, size_t size, uint32_t perms);
extern int uc_mem_write(uc_engine *uc, uint64_t address, const void *bytes, size_t size);
extern int uc_reg_read(uc_engine *uc, int regid, void *value);
extern int uc_reg_write(uc_engine *uc, int regid, const void *value);
extern int uc_reg_read_batch(uc_engine *uc, int *regs, void **vals, int count);
extern int uc_hook_add(uc_engine *uc, uc_hook *hh, int type, void *callback, void *user_data, uint64_t begin, uint64_t end, ...);
extern int uc_emu_start(uc_engine *uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count);
static const unsigned char code[] = { ${bytesC(h.text)} };
static const unsigned char drv[] = { ${bytesC(h.driver)} };
enum { NREGS = ${TRACE_REGS.length}, RING = 1 << 14 };
static int trace_ids[NREGS] = { ${TRACE_REGS.join(',')} };
static uint64_t ring[RING][2 + NREGS];
static void *ptrs[NREGS];
static uint64_t steps;
static void on_seamcall(uc_engine *uc, uint64_t address, uint32_t size, void *user) {
  (void)size; (void)user;
  uint64_t rax = 0, fl, rip = address + 4;
  uc_reg_read(uc, ${X86_REG.RFLAGS}, &fl);
  fl &= ~(uint64_t)${STATUS_FLAGS};
  uc_reg_write(uc, ${X86_REG.RAX}, &rax);
  uc_reg_write(uc, ${X86_REG.RFLAGS}, &fl);
  uc_reg_write(uc, ${X86_REG.RIP}, &rip);
}
static void on_insn(uc_engine *uc, uint64_t address, uint32_t size, void *user) {
  (void)user;
  uint64_t *e = ring[steps++ & (RING - 1)];
  e[0] = address; e[1] = size;
  for (int i = 0; i < NREGS; i++) ptrs[i] = &e[2 + i];
  uc_reg_read_batch(uc, trace_ids, ptrs, NREGS);
}
#define CHECK(x) do { int e_ = (x); if (e_) { fprintf(stderr, "%s: uc_err %d\\n", #x, e_); return 2; } } while (0)
int main(int argc, char **argv) {
  if (argc < 3) return 1;
  int tracing = strcmp(argv[1], "trace") == 0;
  long n = atol(argv[2]);
  const uint64_t TEXT = ${hex(h.textAddress)} & ~0xfffULL, DRV = ${hex(L.driver)}, SENT = ${hex(L.sentinel)}, STACK = ${hex(L.stackBase)}, TABLE = ${hex(L.callerBase)};
  const uint64_t stride = ${h.stride};
  uc_engine *uc;
  CHECK(uc_open(${UC_ARCH_X86}, ${UC_MODE_64}, &uc));
  CHECK(uc_mem_map(uc, TEXT, (${hex(h.textAddress)} - TEXT + sizeof code + 4095) & ~4095ULL, ${UC_PROT.READ | UC_PROT.EXEC}));
  CHECK(uc_mem_write(uc, ${hex(h.textAddress)}, code, sizeof code));
  CHECK(uc_mem_map(uc, DRV, 4096, ${UC_PROT.READ | UC_PROT.EXEC}));
  CHECK(uc_mem_write(uc, DRV, drv, sizeof drv));
  unsigned char cc[4096]; memset(cc, 0xcc, sizeof cc);
  CHECK(uc_mem_map(uc, SENT, 4096, ${UC_PROT.READ | UC_PROT.EXEC}));
  CHECK(uc_mem_write(uc, SENT, cc, sizeof cc));
  CHECK(uc_mem_map(uc, STACK, ${L.stackSize}, ${UC_PROT.READ | UC_PROT.WRITE}));
  size_t size = ((n + 1) * stride + 4095) & ~4095ULL;
  CHECK(uc_mem_map(uc, TABLE, size, ${UC_PROT.READ | UC_PROT.WRITE}));
  unsigned char *t = calloc(1, size);
  for (long i = 0; i < n; i++) {
    uint64_t *row = (uint64_t *)(t + i * stride);
    row[0] = 34; row[2] = 0x9100000100000008ULL; row[5] = TABLE + i * stride + ${h.outOffset};
  }
  CHECK(uc_mem_write(uc, TABLE, t, size));
  uint64_t top = STACK + ${L.stackSize} - 0x100, sent = SENT;
  CHECK(uc_mem_write(uc, top, &sent, 8));
  uint64_t regs[5][2] = { { ${X86_REG.RDI}, TABLE }, { ${X86_REG.RSI}, (uint64_t)n }, { ${X86_REG.RDX}, ${hex(h.fnAddress)} }, { ${X86_REG.RCX}, stride }, { ${X86_REG.RSP}, top } };
  for (int i = 0; i < 5; i++) CHECK(uc_reg_write(uc, (int)regs[i][0], &regs[i][1]));
  uc_hook h1, h2;
  CHECK(uc_hook_add(uc, &h1, ${UC_HOOK.CODE}, (void *)on_seamcall, NULL, ${hex(h.siteAddress)}, ${hex(h.siteAddress)}));
  if (tracing) CHECK(uc_hook_add(uc, &h2, ${UC_HOOK.CODE}, (void *)on_insn, NULL, 1, 0));
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  CHECK(uc_emu_start(uc, DRV + ${h.driverEntry}, SENT, 0, 0));
  clock_gettime(CLOCK_MONOTONIC, &b);
  double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
  printf("%.1f\\n", (tracing ? (double)steps : (double)n) / s);
  return 0;
}
`;
}

/** The Python + Unicorn harness: `batch N`, `percall N` or `trace N`. */
export function pythonSource(h: HarnessImage): string {
  return `import sys, time
from unicorn import *
from unicorn.x86_const import *
code = bytes([${bytesC(h.text)}])
drv = bytes([${bytesC(h.driver)}])
TEXT_AT, DRV, STACK, TABLE, SENT = ${h.textAddress}, ${L.driver}, ${L.stackBase}, ${L.callerBase}, ${L.sentinel}
TEXT = TEXT_AT & ~0xfff
mode, n = sys.argv[1], int(sys.argv[2])
fn, site, stride = ${h.fnAddress}, ${h.siteAddress}, ${h.stride}
uc = Uc(UC_ARCH_X86, UC_MODE_64)
uc.mem_map(TEXT, (TEXT_AT - TEXT + len(code) + 4095) & ~4095, UC_PROT_READ | UC_PROT_EXEC); uc.mem_write(TEXT_AT, code)
uc.mem_map(DRV, 0x1000, UC_PROT_READ | UC_PROT_EXEC); uc.mem_write(DRV, drv)
uc.mem_map(SENT, 0x1000, UC_PROT_READ | UC_PROT_EXEC); uc.mem_write(SENT, b'\\xcc' * 0x1000)
uc.mem_map(STACK, ${L.stackSize})
rows = 1 if mode == 'percall' else n
size = ((rows + 1) * stride + 4095) & ~4095
uc.mem_map(TABLE, size)
def on_seamcall(uc, address, size, user):
    uc.reg_write(UC_X86_REG_RAX, 0)
    uc.reg_write(UC_X86_REG_EFLAGS, uc.reg_read(UC_X86_REG_EFLAGS) & ~${STATUS_FLAGS})
    uc.reg_write(UC_X86_REG_RIP, address + 4)
uc.hook_add(UC_HOOK_CODE, on_seamcall, begin=site, end=site)
REGS = [${TRACE_REGS.join(', ')}]
RING = 1 << 14
ring = [None] * RING
steps = 0
def on_insn(uc, address, size, user):
    global steps
    ring[steps & (RING - 1)] = (address, size, [uc.reg_read(r) for r in REGS])
    steps += 1
if mode == 'trace':
    uc.hook_add(UC_HOOK_CODE, on_insn)
top = STACK + ${L.stackSize} - 0x100
uc.mem_write(top, SENT.to_bytes(8, 'little'))
if mode in ('batch', 'trace'):
    t = bytearray(rows * stride)
    for i in range(rows):
        o = i * stride
        t[o:o + 8] = (34).to_bytes(8, 'little')
        t[o + 16:o + 24] = (0x9100000100000008).to_bytes(8, 'little')
        t[o + 40:o + 48] = (TABLE + o + ${h.outOffset}).to_bytes(8, 'little')
    uc.mem_write(TABLE, bytes(t))
    for r, v in ((UC_X86_REG_RDI, TABLE), (UC_X86_REG_RSI, rows), (UC_X86_REG_RDX, fn), (UC_X86_REG_RCX, stride), (UC_X86_REG_RSP, top)):
        uc.reg_write(r, v)
    a = time.perf_counter(); uc.emu_start(DRV + ${h.driverEntry}, SENT); b = time.perf_counter()
    print((steps if mode == 'trace' else n) / (b - a))
else:
    out = TABLE + ${h.outOffset}
    a = time.perf_counter()
    for i in range(n):
        for r, v in ((UC_X86_REG_RDI, 34), (UC_X86_REG_RSI, 0), (UC_X86_REG_RDX, 0x9100000100000008), (UC_X86_REG_RCX, 0), (UC_X86_REG_R8, 0), (UC_X86_REG_R9, out), (UC_X86_REG_RSP, top)):
            uc.reg_write(r, v)
        uc.emu_start(fn, SENT)
    b = time.perf_counter()
    print(n / (b - a))
`;
}
