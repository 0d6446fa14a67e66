/*
 * seamlab's native step recorder: Unicorn code and memory hooks written in C
 * that record every executed instruction (RIP, length, and the registers
 * before it) and every memory access (step, kind, address, size, value) into
 * buffers the JavaScript side owns. A JavaScript hook costs about a
 * microsecond per instruction through koffi; these cost what reading the
 * registers costs, so a trace is recorded at emulator speed and turned into
 * trace records afterwards (src/machine/native-steps.ts).
 *
 * Built by `seamlab setup` with the system C compiler, linked against the
 * libunicorn.so.2 seamlab loaded. No Unicorn headers are needed: the four
 * entry points used are declared below, and the hook types and register ids
 * come from the caller (their values are checked against Unicorn's headers
 * in test/unicorn-binding.test.ts).
 *
 * Control words (ctl[], uint64):
 *   0 steps in the buffer   1 accesses in the buffer   2 steps in the whole run
 *   3 instruction budget (0: none)   4 flags: 1 buffer full, 2 budget reached, 4 time up
 *   5 deadline, CLOCK_MONOTONIC nanoseconds (0: none), checked every 4096 steps
 * A full buffer, the budget or the deadline stops emulation *before* the
 * instruction, like every pause in seamlab: the caller drains the buffers
 * and resumes at RIP (or ends the run). The deadline replaces Unicorn's own
 * timeout, whose watchdog thread polls every 2 µs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

typedef void uc_engine;
typedef size_t uc_hook;
extern int uc_hook_add(uc_engine *uc, uc_hook *hh, int type, void *callback, void *user_data, uint64_t begin, uint64_t end, ...);
extern int uc_hook_del(uc_engine *uc, uc_hook hh);
extern int uc_reg_read_batch(uc_engine *uc, int *regs, void **vals, int count);
extern int uc_mem_read(uc_engine *uc, uint64_t address, void *bytes, size_t size);
extern int uc_emu_stop(uc_engine *uc);

enum { MAX_REGS = 24, MEM_SLACK = 64, UC_MEM_READ_TYPE = 16 };
enum { CTL_STEPS, CTL_ACCESSES, CTL_TOTAL, CTL_BUDGET, CTL_FLAGS, CTL_DEADLINE };
enum { CLOCK_EVERY = 4096 };

struct recorder {
  uint64_t *ctl;
  uint64_t *steps;          /* per step: rip, size, then nregs values */
  uint64_t step_cap;
  uint64_t *mem;            /* per access: step | kind << 63, address, size, value */
  uint64_t mem_cap;
  int nregs;
  int regs[MAX_REGS];
  uc_hook code_hook, mem_hook;
};

static void on_code(uc_engine *uc, uint64_t address, uint32_t size, void *user) {
  struct recorder *r = user;
  uint64_t *ctl = r->ctl;
  if (ctl[CTL_STEPS] >= r->step_cap || ctl[CTL_ACCESSES] + MEM_SLACK > r->mem_cap) {
    ctl[CTL_FLAGS] |= 1;
    uc_emu_stop(uc);
    return;
  }
  if (ctl[CTL_BUDGET] && ctl[CTL_TOTAL] >= ctl[CTL_BUDGET]) {
    ctl[CTL_FLAGS] |= 2;
    uc_emu_stop(uc);
    return;
  }
  if (ctl[CTL_DEADLINE] && ctl[CTL_TOTAL] % CLOCK_EVERY == 0 && ctl[CTL_TOTAL] > 0) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec >= ctl[CTL_DEADLINE]) {
      ctl[CTL_FLAGS] |= 4;
      uc_emu_stop(uc);
      return;
    }
  }
  uint64_t *s = r->steps + ctl[CTL_STEPS] * (uint64_t)(2 + r->nregs);
  s[0] = address;
  s[1] = size;
  void *vals[MAX_REGS];
  for (int i = 0; i < r->nregs; i++) vals[i] = &s[2 + i];
  uc_reg_read_batch(uc, r->regs, vals, r->nregs);
  ctl[CTL_STEPS]++;
  ctl[CTL_TOTAL]++;
}

static int on_mem(uc_engine *uc, int type, uint64_t address, int size, int64_t value, void *user) {
  struct recorder *r = user;
  uint64_t *ctl = r->ctl;
  if (ctl[CTL_ACCESSES] >= r->mem_cap) return 1;
  uint64_t v = (uint64_t)value;
  int read = type == UC_MEM_READ_TYPE;
  if (read) {
    v = 0;
    uc_mem_read(uc, address, &v, size > 8 ? 8 : (size_t)size);
  }
  uint64_t *m = r->mem + ctl[CTL_ACCESSES] * 4;
  m[0] = (ctl[CTL_TOTAL] - 1) | ((uint64_t)read << 63);
  m[1] = address;
  m[2] = (uint64_t)size;
  m[3] = v;
  ctl[CTL_ACCESSES]++;
  return 1;
}

/* Installs the hooks on `uc`; returns the recorder to pass to detach, or NULL (bad arguments, or Unicorn refused a hook). */
void *seamlab_rec_attach(uc_engine *uc, uint64_t *ctl, uint64_t *steps, uint64_t step_cap, uint64_t *mem, uint64_t mem_cap,
                         const int *regs, int nregs, int hook_code, int hook_mem) {
  if (nregs < 0 || nregs > MAX_REGS) return NULL;
  struct recorder *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->ctl = ctl;
  r->steps = steps;
  r->step_cap = step_cap;
  r->mem = mem;
  r->mem_cap = mem_cap;
  r->nregs = nregs;
  for (int i = 0; i < nregs; i++) r->regs[i] = regs[i];
  if (uc_hook_add(uc, &r->code_hook, hook_code, (void *)on_code, r, (uint64_t)1, (uint64_t)0)) {
    free(r);
    return NULL;
  }
  if (uc_hook_add(uc, &r->mem_hook, hook_mem, (void *)on_mem, r, (uint64_t)1, (uint64_t)0)) {
    uc_hook_del(uc, r->code_hook);
    free(r);
    return NULL;
  }
  return r;
}

/* Removes the hooks (call with emulation stopped) and frees the recorder. */
int seamlab_rec_detach(uc_engine *uc, void *recorder) {
  struct recorder *r = recorder;
  int a = uc_hook_del(uc, r->code_hook);
  int b = uc_hook_del(uc, r->mem_hook);
  free(r);
  return a ? a : b;
}
