/*
 * seamlab's native batch helpers (src/machine/native-batch.ts): what a batch
 * loop needs from Unicorn at every row, written in C so that it costs what
 * the Unicorn calls cost and nothing more.
 *
 * 1. A watched emulation: uc_emu_start with a time limit kept by a thread
 *    that sleeps on a condition variable until the deadline or until the
 *    emulation returns. Unicorn 2.0.1's own timeout thread polls every 2 µs
 *    (usleep) for the whole call — thousands of wake-ups a second on a core
 *    another worker wants — and its join at the end lasts up to one poll.
 *
 * 2. A row capture: a code hook at the instruction after the batch driver's
 *    `call` that copies the registers the caller sees into the current row
 *    (plain host memory: caller memory is mapped with uc_mem_map_ptr) and
 *    advances the row. The driver would otherwise store them itself, and
 *    every guest store in Unicorn 2.0.1 takes the soft-MMU slow path
 *    (notdirty_write → tb_invalidate_phys_page_fast, with allocations):
 *    about 0.1 µs each, half the cost of a row.
 *
 * 3. Scripted traps: code hooks at the SEAMCALL/TDCALL sites that answer
 *    each row's calls from a table of outcomes the caller encoded
 *    (src/machine/script-table.ts) and apply them as src/machine/trap.ts
 *    applyOutcome and execution.ts raise/applyFixup do — so a batch whose
 *    answers are known in advance never enters JavaScript per row.
 *
 * Built by `seamlab setup` with the system C compiler and linked against the
 * libunicorn.so.2 seamlab loaded (no Unicorn headers: the entry points used
 * are declared below; hook types and register ids come from the caller).
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void uc_engine;
typedef size_t uc_hook;
extern int uc_emu_start(uc_engine *uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count);
extern int uc_emu_stop(uc_engine *uc);
extern int uc_hook_add(uc_engine *uc, uc_hook *hh, int type, void *callback, void *user_data, uint64_t begin, uint64_t end, ...);
extern int uc_hook_del(uc_engine *uc, uc_hook hh);
extern int uc_reg_read_batch(uc_engine *uc, int *regs, void **vals, int count);
extern int uc_reg_write_batch(uc_engine *uc, int *regs, void *const *vals, int count);

/* ---- 1. watched emulation ------------------------------------------------ */

struct watch {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct timespec deadline; /* CLOCK_MONOTONIC */
  int done;
  uc_engine *uc;
};

static void *watchdog(void *p) {
  struct watch *w = p;
  pthread_mutex_lock(&w->mu);
  while (!w->done) {
    int rc = pthread_cond_timedwait(&w->cv, &w->mu, &w->deadline);
    if (rc == ETIMEDOUT && !w->done) {
      /*
       * Unicorn's own timeout thread stops emulation the same way (uc_emu_stop is meant for other threads), once.
       * But Unicorn 2.0.1 drops a stop request when a hook then sets RIP (a trap answered "interrupted" does,
       * every time): so ask again every millisecond until the emulation has returned.
       */
      uc_emu_stop(w->uc);
      w->deadline.tv_nsec += 1000000;
      if (w->deadline.tv_nsec >= 1000000000) {
        w->deadline.tv_sec++;
        w->deadline.tv_nsec -= 1000000000;
      }
    }
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

/*
 * uc_emu_start(uc, begin, until, 0, count), stopped after timeout_us
 * microseconds (0: no limit; the caller tells a timeout by the clock).
 * Returns Unicorn's error code, or -1 when the watchdog thread could not be
 * made (the caller then uses Unicorn's own timeout).
 */
int seamlab_emu_start_watched(uc_engine *uc, uint64_t begin, uint64_t until, uint64_t timeout_us, uint64_t count) {
  if (timeout_us == 0) return uc_emu_start(uc, begin, until, 0, (size_t)count);
  struct watch w;
  w.done = 0;
  w.uc = uc;
  pthread_condattr_t ca;
  if (pthread_condattr_init(&ca) || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) return -1;
  if (pthread_cond_init(&w.cv, &ca)) {
    pthread_condattr_destroy(&ca);
    return -1;
  }
  pthread_condattr_destroy(&ca);
  if (pthread_mutex_init(&w.mu, NULL)) {
    pthread_cond_destroy(&w.cv);
    return -1;
  }
  clock_gettime(CLOCK_MONOTONIC, &w.deadline);
  uint64_t ns = (uint64_t)w.deadline.tv_nsec + (timeout_us % 1000000u) * 1000u;
  w.deadline.tv_sec += (time_t)(timeout_us / 1000000u + ns / 1000000000u);
  w.deadline.tv_nsec = (long)(ns % 1000000000u);
  pthread_t t;
  if (pthread_create(&t, NULL, watchdog, &w)) {
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    return -1;
  }
  int err = uc_emu_start(uc, begin, until, 0, (size_t)count);
  pthread_mutex_lock(&w.mu);
  w.done = 1;
  pthread_cond_signal(&w.cv);
  pthread_mutex_unlock(&w.mu);
  pthread_join(t, NULL);
  pthread_mutex_destroy(&w.mu);
  pthread_cond_destroy(&w.cv);
  return err;
}

/* ---- 2. row capture -------------------------------------------------------- */

enum { MAX_REGS = 24 };
/* The driver's control block (asm/diff-driver.S), 64-bit words at the start of caller memory. */
enum { CTL_ROW, CTL_LEFT, CTL_FN, CTL_STRIDE };

struct capture {
  uint64_t *ctl;     /* host address of the control block */
  uint8_t *host;     /* host address of caller memory */
  uint64_t guest;    /* its guest address */
  uint64_t size;     /* its size */
  uint64_t out;      /* offset of the captured registers in a row */
  int nregs;
  int regs[MAX_REGS];
  uc_hook hook;
};

static void on_capture(uc_engine *uc, uint64_t address, uint32_t size, void *user) {
  (void)address;
  (void)size;
  struct capture *c = user;
  uint64_t row = c->ctl[CTL_ROW];
  /* A row pointer outside caller memory is the driver's bug, not the function's: stop, and the caller reports it. */
  if (row < c->guest || row - c->guest > c->size || c->size - (row - c->guest) < c->out + 8u * (uint64_t)c->nregs) {
    uc_emu_stop(uc);
    return;
  }
  uint64_t *dst = (uint64_t *)(c->host + (row - c->guest) + c->out);
  void *vals[MAX_REGS];
  for (int i = 0; i < c->nregs; i++) vals[i] = &dst[i];
  uc_reg_read_batch(uc, c->regs, vals, c->nregs);
  c->ctl[CTL_ROW] = row + c->ctl[CTL_STRIDE];
  c->ctl[CTL_LEFT]--;
}

/*
 * Installs the capture hook at `at` (before anything there is translated).
 * Returns the capture to pass to detach, or NULL (bad arguments, or Unicorn
 * refused the hook).
 */
void *seamlab_capture_attach(uc_engine *uc, uint64_t at, uint8_t *host, uint64_t guest, uint64_t size, uint64_t out,
                             const int *regs, int nregs, int hook_code) {
  if (nregs <= 0 || nregs > MAX_REGS || size < 64) return NULL;
  struct capture *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->ctl = (uint64_t *)host;
  c->host = host;
  c->guest = guest;
  c->size = size;
  c->out = out;
  c->nregs = nregs;
  for (int i = 0; i < nregs; i++) c->regs[i] = regs[i];
  if (uc_hook_add(uc, &c->hook, hook_code, (void *)on_capture, c, at, at)) {
    free(c);
    return NULL;
  }
  return c;
}

/* Removes the hook (call with emulation stopped) and frees the capture. */
int seamlab_capture_detach(uc_engine *uc, void *capture) {
  struct capture *c = capture;
  int err = uc_hook_del(uc, c->hook);
  free(c);
  return err;
}

/* ---- 3. scripted traps ------------------------------------------------------ */

/*
 * The table (src/machine/script-table.ts; the layouts must agree), per row
 * ROW_WORDS 64-bit words:
 *   word 0: bits 0-7 script length (1..MAX_STEPS), bit 8 the CPU environment faults every call
 *   then MAX_STEPS script steps and one environment step, STEP_WORDS each:
 *     word 0: bits 0-7 kind, 8-15 vector (fault), bit 16 keep RFLAGS ('preserve'),
 *             bit 17 RAX given ('interrupted'), bits 32-47 output registers (GPR encoding order)
 *     word 1: RAX    words 2-17: the 16 GPRs (those in the mask)
 * Call k of a row gets step min(k, length - 1), or the environment step.
 */
enum { MAX_STEPS = 4, STEP_WORDS = 18, ROW_WORDS = 1 + (MAX_STEPS + 1) * STEP_WORDS };
enum { K_RETURN = 1, K_VMFAILINVALID = 2, K_VMFAILVALID = 3, K_FAULT = 4, K_INTERRUPTED = 5 };
enum { RECORDED_CALLS = 2, MAX_POISON = 8, MAX_SITES = 64, NREGS = 18, R_RAX = 0, R_RFLAGS = 16, R_RIP = 17 };
enum { EX_TYPE_FAULT = 2 };
#define RF_CF 0x1u
#define RF_ZF 0x40u
#define RF_STATUS 0x8d5u /* CF PF AF ZF SF OF */
#define TRAP_INSN_LENGTH 4u /* SEAMCALL 66 0f 01 cf, TDCALL 66 0f 01 cc */

struct site {
  uint64_t address;
  uint64_t fixup;   /* 0: no exception-table entry */
  int fixup_type;
  uc_hook hook;
};

struct server {
  uint64_t *ctl;          /* the driver's control block (host) */
  uint64_t table;         /* guest address of row 0 */
  uint64_t stride;
  uint64_t capacity;
  uint8_t *rows;          /* host address of row 0 */
  const uint64_t *script; /* ROW_WORDS per row */
  int32_t *calls;         /* per row: SEAM calls made */
  int8_t *oops;           /* per row: vector of an oops (0: none) */
  int8_t *fixup;          /* per row: vector taken through the exception table (0: none) */
  int8_t *served;         /* per row and recorded call: step served (-1: the environment's) */
  uint64_t *seam_in;      /* per row and recorded call: the 16 GPRs the SEAM side was given */
  int npoison;
  uint64_t poison_at[MAX_POISON], poison_size[MAX_POISON];
  int poison_byte;
  int regs[NREGS];
  int nsites;
  struct site sites[MAX_SITES];
};

static void on_trap(uc_engine *uc, uint64_t address, uint32_t size, void *user) {
  (void)size;
  struct server *s = user;
  uint64_t rowp = s->ctl[CTL_ROW];
  uint64_t row = (rowp - s->table) / s->stride;
  if (rowp < s->table || row >= s->capacity) { /* not the driver's row: stop, the caller reports it */
    uc_emu_stop(uc);
    return;
  }
  uint64_t v[NREGS];
  void *p[NREGS];
  for (int i = 0; i < NREGS; i++) p[i] = &v[i];
  uc_reg_read_batch(uc, s->regs, p, NREGS);
  if (s->oops[row]) goto abort_row; /* after an oops the row's results are not used and calls are not counted */
  int32_t k = s->calls[row]++;
  const uint64_t *hdr = s->script + row * ROW_WORDS;
  int len = (int)(hdr[0] & 0xff);
  int env = (int)((hdr[0] >> 8) & 1);
  int idx = env ? -1 : (k < len - 1 ? k : len - 1);
  const uint64_t *step = hdr + 1 + (uint64_t)(env ? MAX_STEPS : idx) * STEP_WORDS;
  if (k < RECORDED_CALLS) {
    memcpy(s->seam_in + (row * RECORDED_CALLS + (uint64_t)k) * 16, v, 16 * sizeof(uint64_t));
    s->served[row * RECORDED_CALLS + (uint64_t)k] = (int8_t)idx;
  }
  uint64_t w = step[0];
  int kind = (int)(w & 0xff);
  const struct site *site = NULL;
  for (int i = 0; i < s->nsites; i++) if (s->sites[i].address == address) site = &s->sites[i];
  if (kind == K_FAULT) {
    int vector = (int)((w >> 8) & 0xff);
    if (!site || !site->fixup) {
      s->oops[row] = (int8_t)vector;
      goto abort_row;
    }
    s->fixup[row] = (int8_t)vector;
  }
  /* Inputs are read: poison the in/out structs, so that any field not poison afterwards was written after the call. */
  for (int i = 0; i < s->npoison; i++) memset(s->rows + row * s->stride + s->poison_at[i], s->poison_byte, s->poison_size[i]);
  switch (kind) {
  case K_FAULT:
    if (site->fixup_type == EX_TYPE_FAULT) v[R_RAX] = (w >> 8) & 0xff;
    v[R_RIP] = site->fixup;
    break;
  case K_RETURN:
  case K_INTERRUPTED: {
    uint32_t mask = (uint32_t)(w >> 32) & 0xffff;
    for (int i = 0; i < 16; i++) if (mask & (1u << i)) v[i] = step[2 + i];
    if (kind == K_RETURN) {
      v[R_RAX] = step[1];
      if (!((w >> 16) & 1)) v[R_RFLAGS] &= ~(uint64_t)RF_STATUS;
      v[R_RIP] += TRAP_INSN_LENGTH;
    } else if ((w >> 17) & 1) {
      v[R_RAX] = step[1]; /* re-executed: RIP and RFLAGS as they were */
    }
    break;
  }
  case K_VMFAILINVALID:
    v[R_RFLAGS] = (v[R_RFLAGS] & ~(uint64_t)RF_STATUS) | RF_CF;
    v[R_RIP] += TRAP_INSN_LENGTH;
    break;
  case K_VMFAILVALID:
    v[R_RFLAGS] = (v[R_RFLAGS] & ~(uint64_t)RF_STATUS) | RF_ZF;
    v[R_RIP] += TRAP_INSN_LENGTH;
    break;
  default:
    uc_emu_stop(uc); /* a table the caller did not encode */
    return;
  }
  uc_reg_write_batch(uc, s->regs, p, NREGS);
  return;
abort_row:
  /* Answered VMfailInvalid so that the function returns and the driver goes on to the next row. */
  v[R_RFLAGS] = (v[R_RFLAGS] & ~(uint64_t)RF_STATUS) | RF_CF;
  v[R_RIP] += TRAP_INSN_LENGTH;
  uc_reg_write_batch(uc, s->regs, p, NREGS);
}

/*
 * Installs a scripted trap hook at each of `nsites` addresses (sites[i*3]:
 * address, fixup address or 0, exception-table type). `state` holds, in
 * this order: calls (int32 × capacity), oops and fixup (int8 × capacity
 * each), served (int8 × capacity × RECORDED_CALLS), then, 8-byte aligned,
 * seam_in (uint64 × capacity × RECORDED_CALLS × 16). `poison` lists
 * (offset in row, size) pairs. `regs`: the ids of the 16 GPRs, RFLAGS, RIP.
 */
void *seamlab_traps_attach(uc_engine *uc, const uint64_t *sites, int nsites, uint8_t *host, uint64_t guest, uint64_t table_offset,
                           uint64_t stride, uint64_t capacity, const uint64_t *script, uint8_t *state,
                           const uint64_t *poison, int npoison, int poison_byte, const int *regs, int nregs, int hook_code) {
  if (nsites < 0 || nsites > MAX_SITES || npoison < 0 || npoison > MAX_POISON || nregs != NREGS || stride == 0) return NULL;
  struct server *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->ctl = (uint64_t *)host;
  s->table = guest + table_offset;
  s->stride = stride;
  s->capacity = capacity;
  s->rows = host + table_offset;
  s->script = script;
  s->calls = (int32_t *)state;
  s->oops = (int8_t *)(state + 4 * capacity);
  s->fixup = s->oops + capacity;
  s->served = s->fixup + capacity;
  uint64_t off = 4 * capacity + 2 * capacity + RECORDED_CALLS * capacity;
  off = (off + 7) & ~(uint64_t)7;
  s->seam_in = (uint64_t *)(state + off);
  s->npoison = npoison;
  for (int i = 0; i < npoison; i++) {
    s->poison_at[i] = poison[2 * i];
    s->poison_size[i] = poison[2 * i + 1];
  }
  s->poison_byte = poison_byte;
  for (int i = 0; i < NREGS; i++) s->regs[i] = regs[i];
  s->nsites = nsites;
  for (int i = 0; i < nsites; i++) {
    s->sites[i].address = sites[3 * i];
    s->sites[i].fixup = sites[3 * i + 1];
    s->sites[i].fixup_type = (int)sites[3 * i + 2];
    if (uc_hook_add(uc, &s->sites[i].hook, hook_code, (void *)on_trap, s, s->sites[i].address, s->sites[i].address)) {
      for (int j = 0; j < i; j++) uc_hook_del(uc, s->sites[j].hook);
      free(s);
      return NULL;
    }
  }
  return s;
}

/* Removes the hooks (call with emulation stopped) and frees the server. */
int seamlab_traps_detach(uc_engine *uc, void *server) {
  struct server *s = server;
  int err = 0;
  for (int i = 0; i < s->nsites; i++) {
    int e = uc_hook_del(uc, s->sites[i].hook);
    if (e && !err) err = e;
  }
  free(s);
  return err;
}
