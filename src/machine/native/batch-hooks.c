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
 * Built by `seamlab setup` with the system C compiler and linked against the
 * libunicorn.so.2 seamlab loaded (no Unicorn headers: the entry points used
 * are declared below; hook types and register ids come from the caller).
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

typedef void uc_engine;
typedef size_t uc_hook;
extern int uc_emu_start(uc_engine *uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count);
extern int uc_emu_stop(uc_engine *uc);
extern int uc_hook_add(uc_engine *uc, uc_hook *hh, int type, void *callback, void *user_data, uint64_t begin, uint64_t end, ...);
extern int uc_hook_del(uc_engine *uc, uc_hook hh);
extern int uc_reg_read_batch(uc_engine *uc, int *regs, void **vals, int count);

/* ---- 1. watched emulation ------------------------------------------------ */

struct watch {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct timespec deadline; /* CLOCK_MONOTONIC */
  int done;
  int fired;
  uc_engine *uc;
};

static void *watchdog(void *p) {
  struct watch *w = p;
  pthread_mutex_lock(&w->mu);
  while (!w->done) {
    int rc = pthread_cond_timedwait(&w->cv, &w->mu, &w->deadline);
    if (rc == ETIMEDOUT && !w->done) {
      w->fired = 1;
      /* Unicorn's own timeout thread stops emulation the same way (uc_emu_stop is meant for other threads). */
      uc_emu_stop(w->uc);
      break;
    }
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

/*
 * uc_emu_start(uc, begin, until, 0, count), stopped after timeout_us
 * microseconds (0: no limit). *fired says whether the time ran out. Returns
 * Unicorn's error code, or -1 when the watchdog thread could not be made
 * (the caller then uses Unicorn's own timeout).
 */
int seamlab_emu_start_watched(uc_engine *uc, uint64_t begin, uint64_t until, uint64_t timeout_us, uint64_t count, int *fired) {
  *fired = 0;
  if (timeout_us == 0) return uc_emu_start(uc, begin, until, 0, (size_t)count);
  struct watch w;
  w.done = 0;
  w.fired = 0;
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
  *fired = w.fired;
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
