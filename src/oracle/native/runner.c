/*
 * seamlab silicon-oracle runner: runs seamlab's linked image on the host CPU,
 * one instruction at a time under ptrace, and reports the state after every
 * instruction to seamlab (src/oracle/runner-process.ts) over a pipe.
 *
 * This is the only native code in seamlab. `seamlab setup` compiles it with
 * the system C compiler into $SEAMLAB_CACHE/native/<hash of this file>/.
 *
 * Processes. seamlab spawns this program with the request pipe on fd 0 and
 * the response pipe on fd 1. The program (the tracer) re-executes itself
 * once with address-space randomisation off (personality ADDR_NO_RANDOMIZE)
 * and glibc's rseq registration off, and keeps itself on one CPU. For each
 * LOAD it forks one child (the tracee), which maps the regions at their
 * addresses (MAP_FIXED_NOREPLACE: a clash with the child's own mappings is
 * an error, never a silent overwrite) from one memfd shared with the tracer,
 * and stops itself. The tracer then unmaps everything else in the child —
 * program, libraries, heap, stack, vDSO — by running munmap system calls in
 * it, so that the child's address space is exactly the machine's memory map
 * and a wild access faults on the CPU where it faults on Unicorn. The same
 * child then serves every RUN until the next LOAD: a fuzz campaign does not
 * fork per run. The tracer reads and writes the child's memory through its
 * own mapping of the memfd, and keeps a shadow copy of every writable region
 * to find out which bytes an instruction changed.
 *
 * Protocol. Every message is `u32 type, u32 payload length, payload`; all
 * integers little-endian. REGS is 18 u64: RAX RCX RDX RBX RSP RBP RSI RDI
 * R8..R15 (hardware encoding order), RFLAGS, RIP. WRITES is `u32 count`
 * then per write `u64 address, u32 length, length bytes`.
 *
 * Requests (seamlab -> runner):
 *   1 LOAD    u32 n; n x { u64 address, u64 size, u32 prot (1 R, 2 W, 4 X) }
 *             Replaces the child: maps the regions (page-aligned, zeroed).
 *             Answer: OK or ERROR.
 *   2 WRITE   u64 address; bytes. Writes into the regions (also read-only
 *             ones) and the shadow. No answer.
 *   3 ZERO    (empty) Zeroes every writable region. No answer.
 *   4 RUN     REGS; u64 budget; u32 flags (bit 0: exact writes); i64 flip
 *             step; u64 flip mask; u32 n; n x u64 stop address.
 *             Sets the registers and single-steps; answers STEP per
 *             instruction, then one EVENT.
 *   5 RESUME  REGS. Sets the registers and continues the current run (same
 *             budget, stops, flags and step count). Answers like RUN.
 *   6 READ    u64 address; u32 length. Answer: DATA.
 *   7 QUIT    (empty) Exits.
 *
 * Answers (runner -> seamlab):
 *   0x80 OK     (empty)
 *   0x81 ERROR  UTF-8 text
 *   0x82 STEP   REGS after the instruction; WRITES: the bytes it changed.
 *   0x83 EVENT  u32 kind (1 stop address reached, 2 signal, 3 budget spent,
 *               4 child gone); u32 signal; i32 si_code; u32 0; u64 si_addr;
 *               REGS now; WRITES: changes no STEP reported (see below).
 *   0x84 DATA   bytes
 *   0x85 HELLO  u32 protocol version; u32 ptrace status (0 usable, else the
 *               errno of the failed probe); UTF-8 detail. Sent once at start.
 *
 * A STEP's writes come from comparing, after the instruction, the pages
 * within one page of every GPR value before and after it (pushes, calls and
 * stores through a base register with a displacement under 4 KiB) with the
 * shadow; with RUN flag bit 0, every writable page. At every EVENT all
 * writable pages are compared: a change found there was missed by a STEP
 * (seamlab then runs the scenario again with exact writes).
 *
 * A signal other than the single-step trap (SIGILL from SEAMCALL/TDCALL or
 * ud2, SIGSEGV from #GP or #PF, SIGTRAP from int3 ...) ends the leg with an
 * EVENT and counts as a step; seamlab decides what the instruction did (SEAM
 * handler, exception table, oops) and RESUMEs with the registers that follow,
 * or starts another RUN. The signal is never delivered to the child.
 *
 * Test knob: a flip step k >= 0 XORs RFLAGS with the flip mask right after
 * step k (0-based, counted from the RUN) completes, before it is reported, so
 * a test can check that a divergence is reported at exactly that step.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
#endif
#endif

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef TRAP_TRACE
#define TRAP_TRACE 2
#endif

#define PROTOCOL_VERSION 1
#define PAGE 4096u
#define MAX_REGIONS 64
#define MAX_STOPS 64
#define NREGS 18
#define MAX_MESSAGE (64u << 20)

enum { REQ_LOAD = 1, REQ_WRITE, REQ_ZERO, REQ_RUN, REQ_RESUME, REQ_READ, REQ_QUIT };
enum { ANS_OK = 0x80, ANS_ERROR, ANS_STEP, ANS_EVENT, ANS_DATA, ANS_HELLO };
enum { EV_STOP = 1, EV_SIGNAL, EV_BUDGET, EV_GONE };

struct region {
  uint64_t address, size, offset;
  uint32_t prot;
};

static struct region regions[MAX_REGIONS];
static int region_count;
static uint8_t *arena;      /* the tracer's view of the memfd */
static uint8_t *shadow;     /* last known contents of the writable regions */
static uint8_t *dirty;      /* per arena page: may hold a non-zero byte (ZERO clears only these) */
static size_t arena_size;
static int arena_fd = -1;
static pid_t child = -1;
static struct user_regs_struct child_regs;

static uint64_t budget, steps;
static uint32_t run_flags;
static int64_t flip_step = -1;
static uint64_t flip_mask;
static uint64_t stops[MAX_STOPS];
static uint32_t stop_count;
static uint64_t before[NREGS];

/* ---- output -------------------------------------------------------------- */

static uint8_t *out;
static size_t out_len, out_cap;

static void out_reserve(size_t n) {
  if (out_len + n <= out_cap) return;
  size_t cap = out_cap ? out_cap : 1u << 16;
  while (cap < out_len + n) cap *= 2;
  out = realloc(out, cap);
  if (!out) _exit(3);
  out_cap = cap;
}

static void put(const void *p, size_t n) {
  out_reserve(n);
  memcpy(out + out_len, p, n);
  out_len += n;
}
static void put32(uint32_t v) { put(&v, 4); }
static void put64(uint64_t v) { put(&v, 8); }

static void flush_out(void) {
  size_t done = 0;
  while (done < out_len) {
    ssize_t w = write(1, out + done, out_len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) _exit(4); /* seamlab has gone */
    done += (size_t)w;
  }
  out_len = 0;
}

/* Starts a message; returns where its length goes. */
static size_t begin_msg(uint32_t type) {
  put32(type);
  size_t at = out_len;
  put32(0);
  return at;
}
static void end_msg(size_t at) {
  uint32_t len = (uint32_t)(out_len - at - 4);
  memcpy(out + at, &len, 4);
  if (out_len >= (1u << 18)) flush_out();
}

static void send_text(uint32_t type, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
  size_t at = begin_msg(type);
  put(buf, (size_t)n);
  end_msg(at);
  flush_out();
}

/* ---- input --------------------------------------------------------------- */

static int read_full(void *p, size_t n) {
  uint8_t *b = p;
  while (n) {
    ssize_t r = read(0, b, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    b += r;
    n -= (size_t)r;
  }
  return 0;
}

struct cursor { const uint8_t *p; size_t left; int bad; };

static uint64_t take(struct cursor *c, size_t n) {
  uint64_t v = 0;
  if (c->left < n) { c->bad = 1; return 0; }
  memcpy(&v, c->p, n);
  c->p += n;
  c->left -= n;
  return v;
}

/* ---- registers ----------------------------------------------------------- */

static void regs_to_slots(const struct user_regs_struct *r, uint64_t *s) {
  s[0] = r->rax; s[1] = r->rcx; s[2] = r->rdx; s[3] = r->rbx;
  s[4] = r->rsp; s[5] = r->rbp; s[6] = r->rsi; s[7] = r->rdi;
  s[8] = r->r8; s[9] = r->r9; s[10] = r->r10; s[11] = r->r11;
  s[12] = r->r12; s[13] = r->r13; s[14] = r->r14; s[15] = r->r15;
  s[16] = r->eflags; s[17] = r->rip;
}

static void slots_to_regs(const uint64_t *s, struct user_regs_struct *r) {
  r->rax = s[0]; r->rcx = s[1]; r->rdx = s[2]; r->rbx = s[3];
  r->rsp = s[4]; r->rbp = s[5]; r->rsi = s[6]; r->rdi = s[7];
  r->r8 = s[8]; r->r9 = s[9]; r->r10 = s[10]; r->r11 = s[11];
  r->r12 = s[12]; r->r13 = s[13]; r->r14 = s[14]; r->r15 = s[15];
  r->eflags = s[16]; r->rip = s[17];
  /* The child last stopped inside a system call (raise) or at a fault: no syscall restart. */
  r->orig_rax = (unsigned long long)-1;
}

static void put_regs(const uint64_t *s) {
  for (int i = 0; i < NREGS; i++) put64(s[i]);
}

/* ---- regions ------------------------------------------------------------- */

static struct region *region_of(uint64_t address, uint64_t length) {
  for (int i = 0; i < region_count; i++) {
    struct region *r = &regions[i];
    if (address >= r->address && length <= r->size && address - r->address <= r->size - length) return r;
  }
  return NULL;
}

static void kill_child(void) {
  if (child > 0) {
    kill(child, SIGKILL);
    int st;
    while (waitpid(child, &st, __WALL) < 0 && errno == EINTR) {}
  }
  child = -1;
}

static void drop_arena(void) {
  if (arena) munmap(arena, arena_size);
  if (arena_fd >= 0) close(arena_fd);
  free(shadow);
  free(dirty);
  arena = shadow = dirty = NULL;
  arena_fd = -1;
  arena_size = 0;
}

/* The bytes of the child's trampoline page: `syscall; int3`. */
static const uint8_t TRAMPOLINE[] = { 0x0f, 0x05, 0xcc };

/*
 * The kernel writes the thread's rseq area (in libc's TLS) on every return
 * to user space; once strip_child has unmapped it, that write would kill the
 * child. The runner starts with glibc's rseq registration turned off
 * (GLIBC_TUNABLES, set when it re-executes itself); this undoes a
 * registration that happened anyway.
 */
static void unregister_rseq(void) {
#ifdef RSEQ_SIG
  if (__rseq_size == 0) return;
  void *area = (char *)__builtin_thread_pointer() + __rseq_offset;
  /* glibc registers 32 bytes; some versions report the smaller feature size. */
  if (syscall(SYS_rseq, area, 32, 1 /* RSEQ_FLAG_UNREGISTER */, RSEQ_SIG) != 0) syscall(SYS_rseq, area, __rseq_size, 1, RSEQ_SIG);
#endif
}

/*
 * In the child: map every region and a trampoline page, send the
 * trampoline's address over errfd, and stop for the tracer, which then
 * removes every other mapping of the child (see strip_child).
 */
static void child_main(int errfd) {
  if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0) {
    dprintf(errfd, "ptrace(PTRACE_TRACEME) failed: %s", strerror(errno));
    _exit(1);
  }
  for (int i = 0; i < region_count; i++) {
    struct region *r = &regions[i];
    int prot = (r->prot & 1 ? PROT_READ : 0) | (r->prot & 2 ? PROT_WRITE : 0) | (r->prot & 4 ? PROT_EXEC : 0);
    void *p = mmap((void *)(uintptr_t)r->address, r->size, prot, MAP_SHARED | MAP_FIXED_NOREPLACE, arena_fd, (off_t)r->offset);
    if (p == MAP_FAILED || (uint64_t)(uintptr_t)p != r->address) {
      dprintf(errfd, "cannot map region 0x%llx+0x%llx in the child: %s", (unsigned long long)r->address,
              (unsigned long long)r->size, p == MAP_FAILED ? strerror(errno) : "the kernel ignored MAP_FIXED_NOREPLACE");
      _exit(1);
    }
  }
  unregister_rseq();
  uint8_t *t = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (t == MAP_FAILED) {
    dprintf(errfd, "cannot map the trampoline page: %s", strerror(errno));
    _exit(1);
  }
  memset(t, 0xcc, PAGE);
  memcpy(t, TRAMPOLINE, sizeof TRAMPOLINE);
  if (mprotect(t, PAGE, PROT_READ | PROT_EXEC) < 0) {
    dprintf(errfd, "cannot protect the trampoline page: %s", strerror(errno));
    _exit(1);
  }
  uint64_t at = (uint64_t)(uintptr_t)t;
  if (write(errfd, &at, sizeof at) != sizeof at) _exit(1);
  close(errfd);
  raise(SIGSTOP);
  _exit(0);
}

/* Runs one system call in the stopped child at its trampoline; returns RAX, or -ENOSYS-style -errno on a ptrace failure. */
static long long inject_syscall(uint64_t trampoline, long nr, uint64_t a, uint64_t b, int expect_sig) {
  struct user_regs_struct r = child_regs;
  r.rip = trampoline;
  r.rax = (unsigned long long)nr;
  r.rdi = a;
  r.rsi = b;
  r.orig_rax = (unsigned long long)-1;
  if (ptrace(PTRACE_SETREGS, child, 0, &r) < 0 || ptrace(PTRACE_CONT, child, 0, 0) < 0) return -errno;
  int st;
  while (waitpid(child, &st, __WALL) < 0 && errno == EINTR) {}
  if (!WIFSTOPPED(st) || WSTOPSIG(st) != expect_sig) return -EIO;
  if (ptrace(PTRACE_GETREGS, child, 0, &r) < 0) return -errno;
  return (long long)r.rax;
}

/*
 * Leaves the stopped child with nothing mapped but the regions (and the
 * kernel's [vsyscall] gate, which cannot be unmapped): its program,
 * libraries, heap, stack and vDSO go, so a wild access faults on the CPU
 * exactly where it faults on Unicorn. Each munmap runs at the trampoline
 * (`syscall; int3`); the last one unmaps the trampoline itself, and the
 * fetch after its syscall faults, which is where the child then waits.
 */
static int strip_child(uint64_t trampoline, char *why, size_t n) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/maps", (int)child);
  FILE *f = fopen(path, "r");
  if (!f) { snprintf(why, n, "cannot read %s: %s", path, strerror(errno)); return -1; }
  uint64_t starts[256], ends[256];
  int count = 0;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    unsigned long long a, e;
    if (sscanf(line, "%llx-%llx", &a, &e) != 2) continue;
    if (strstr(line, "[vsyscall]") || a == trampoline || region_of(a, e - a)) continue;
    if (count == 256) { fclose(f); snprintf(why, n, "the child has too many mappings"); return -1; }
    starts[count] = a;
    ends[count++] = e;
  }
  fclose(f);
  for (int i = 0; i < count; i++) {
    long long rc = inject_syscall(trampoline, 11 /* munmap */, starts[i], ends[i] - starts[i], SIGTRAP);
    if (rc != 0) {
      snprintf(why, n, "cannot unmap 0x%llx-0x%llx in the child: %s", (unsigned long long)starts[i], (unsigned long long)ends[i], strerror((int)-rc));
      return -1;
    }
  }
  long long rc = inject_syscall(trampoline, 11, trampoline, PAGE, SIGSEGV);
  if (rc != 0) {
    snprintf(why, n, "cannot unmap the trampoline: %s", rc == -EIO ? "the child did not fault after it" : strerror((int)-rc));
    return -1;
  }
  return 0;
}

static void load(struct cursor *c) {
  uint32_t n = (uint32_t)take(c, 4);
  if (c->bad || n > MAX_REGIONS) { send_text(ANS_ERROR, "LOAD: bad region count"); return; }
  kill_child();
  drop_arena();
  size_t total = 0;
  for (uint32_t i = 0; i < n; i++) {
    struct region *r = &regions[i];
    r->address = take(c, 8);
    r->size = take(c, 8);
    r->prot = (uint32_t)take(c, 4);
    if (c->bad || r->address % PAGE || r->size % PAGE || r->size == 0 || r->size > (1ull << 32)) {
      region_count = 0;
      send_text(ANS_ERROR, "LOAD: region %u is not page-aligned or has a bad size", i);
      return;
    }
    r->offset = total;
    total += r->size;
  }
  region_count = (int)n;
  arena_fd = memfd_create("seamlab-oracle", MFD_CLOEXEC);
  if (arena_fd < 0 || ftruncate(arena_fd, (off_t)total) < 0) {
    send_text(ANS_ERROR, "memfd for %zu bytes: %s", total, strerror(errno));
    drop_arena();
    return;
  }
  arena_size = total;
  arena = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, arena_fd, 0);
  shadow = calloc(1, total);
  dirty = calloc(1, total / PAGE);
  if (arena == MAP_FAILED || !shadow || !dirty) {
    arena = NULL;
    send_text(ANS_ERROR, "cannot map the arena: %s", strerror(errno));
    drop_arena();
    return;
  }
  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) < 0) {
    send_text(ANS_ERROR, "pipe: %s", strerror(errno));
    return;
  }
  pid_t pid = fork();
  if (pid < 0) {
    send_text(ANS_ERROR, "fork: %s", strerror(errno));
    return;
  }
  if (pid == 0) {
    close(errpipe[0]);
    child_main(errpipe[1]);
  }
  close(errpipe[1]);
  int st;
  while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR) {}
  if (!WIFSTOPPED(st)) {
    char why[512] = "";
    ssize_t k = read(errpipe[0], why, sizeof why - 1);
    why[k > 0 ? k : 0] = 0;
    close(errpipe[0]);
    send_text(ANS_ERROR, "the child could not start: %s", why[0] ? why : "it exited before stopping");
    return;
  }
  uint64_t trampoline = 0;
  ssize_t got = read(errpipe[0], &trampoline, sizeof trampoline);
  close(errpipe[0]);
  child = pid;
  char why[512];
  if (got != sizeof trampoline) {
    send_text(ANS_ERROR, "the child did not report its trampoline");
    kill_child();
    return;
  }
  if (ptrace(PTRACE_SETOPTIONS, child, 0, PTRACE_O_EXITKILL) < 0 || ptrace(PTRACE_GETREGS, child, 0, &child_regs) < 0) {
    send_text(ANS_ERROR, "ptrace on the child: %s", strerror(errno));
    kill_child();
    return;
  }
  if (strip_child(trampoline, why, sizeof why) < 0) {
    send_text(ANS_ERROR, "%s", why);
    kill_child();
    return;
  }
  /* The thread pointer pointed into the unmapped libc TLS; Unicorn's FS and GS bases are 0. */
  child_regs.fs_base = 0;
  child_regs.gs_base = 0;
  size_t at = begin_msg(ANS_OK);
  end_msg(at);
  flush_out();
}

/* ---- writes -------------------------------------------------------------- */

static uint32_t write_count;
static size_t write_count_at;

static void begin_writes(void) {
  write_count = 0;
  write_count_at = out_len;
  put32(0);
}
static void end_writes(void) { memcpy(out + write_count_at, &write_count, 4); }

/* Reports the bytes of one page that differ from the shadow, as runs, and updates the shadow. */
static void diff_page(const struct region *r, uint64_t page) {
  size_t off = r->offset + (size_t)(page - r->address);
  const uint8_t *now = arena + off;
  uint8_t *old = shadow + off;
  if (memcmp(now, old, PAGE) == 0) return;
  size_t i = 0;
  while (i < PAGE) {
    if (now[i] == old[i]) { i++; continue; }
    size_t j = i;
    while (j < PAGE && now[j] != old[j]) j++;
    put64(page + i);
    put32((uint32_t)(j - i));
    put(now + i, j - i);
    write_count++;
    i = j;
  }
  memcpy(old, now, PAGE);
  dirty[off / PAGE] = 1;
}

static void diff_all(void) {
  for (int i = 0; i < region_count; i++) {
    const struct region *r = &regions[i];
    if (!(r->prot & 2)) continue;
    for (uint64_t p = r->address; p < r->address + r->size; p += PAGE) diff_page(r, p);
  }
}

/* The pages within one page of every GPR value before and after the step. */
static void diff_near(const uint64_t *after) {
  uint64_t pages[NREGS * 2 * 3];
  int n = 0;
  for (int k = 0; k < 2; k++) {
    const uint64_t *s = k ? after : before;
    for (int g = 0; g < 16; g++) {
      uint64_t base = s[g] & ~(uint64_t)(PAGE - 1);
      for (int d = -1; d <= 1; d++) {
        uint64_t p = base + (uint64_t)(int64_t)d * PAGE;
        int seen = 0;
        for (int i = 0; i < n; i++) if (pages[i] == p) { seen = 1; break; }
        if (!seen) pages[n++] = p;
      }
    }
  }
  for (int i = 0; i < n; i++) {
    const struct region *r = region_of(pages[i], PAGE);
    if (r && (r->prot & 2)) diff_page(r, pages[i]);
  }
  /* Writable regions no register points near are small image sections, if any: compare them whole. */
  for (int i = 0; i < region_count; i++) {
    const struct region *r = &regions[i];
    if ((r->prot & 2) && r->size <= 4 * PAGE) {
      for (uint64_t p = r->address; p < r->address + r->size; p += PAGE) diff_page(r, p);
    }
  }
}

/* ---- running ------------------------------------------------------------- */

/*
 * 0 when the instruction at `rip` is not PUSHF, else the size it pushes.
 * Single-stepping runs the child with TF set, and PUSHF stores RFLAGS as it
 * is, TF included (Linux hides TF only from PTRACE_GETREGS and from POPF,
 * arch/x86/kernel/step.c); the program itself never set TF.
 */
static int pushf_size(uint64_t rip) {
  struct region *r = region_of(rip, 1);
  if (!r || !(r->prot & 4)) return 0;
  const uint8_t *b = arena + r->offset + (size_t)(rip - r->address);
  uint64_t left = r->address + r->size - rip;
  int size = 8;
  for (int i = 0; i < 15 && (uint64_t)i < left; i++) {
    uint8_t x = b[i];
    if (x == 0x66) { size = 2; continue; }
    if (x == 0xf2 || x == 0xf3 || x == 0x2e || x == 0x3e || x == 0x26 || x == 0x64 || x == 0x65 || x == 0x36 || (x >= 0x40 && x <= 0x4f)) continue;
    return x == 0x9c ? size : 0;
  }
  return 0;
}

/* Clears the TF bit single-stepping left in the RFLAGS image PUSHF stored at `rsp`. */
static void unforce_pushed_tf(uint64_t rsp, int size) {
  struct region *r = region_of(rsp, (uint64_t)size);
  if (r && (r->prot & 2)) arena[r->offset + (size_t)(rsp - r->address) + 1] &= (uint8_t)~1; /* TF is bit 8 */
}

static int is_stop(uint64_t rip) {
  for (uint32_t i = 0; i < stop_count; i++) if (stops[i] == rip) return 1;
  return 0;
}

static void send_event(uint32_t kind, int sig, int code, uint64_t addr, const uint64_t *now) {
  size_t at = begin_msg(ANS_EVENT);
  put32(kind);
  put32((uint32_t)sig);
  put32((uint32_t)code);
  put32(0);
  put64(addr);
  put_regs(now);
  begin_writes();
  if (child > 0) diff_all();
  end_writes();
  end_msg(at);
  flush_out();
}

static int set_child_regs(const uint64_t *s) {
  slots_to_regs(s, &child_regs);
  return ptrace(PTRACE_SETREGS, child, 0, &child_regs);
}

static void step_loop(void) {
  uint64_t now[NREGS];
  for (;;) {
    if (steps >= budget) {
      send_event(EV_BUDGET, 0, 0, 0, before);
      return;
    }
    int pushf = pushf_size(before[17]);
    if (ptrace(PTRACE_SINGLESTEP, child, 0, 0) < 0) {
      send_event(EV_GONE, 0, errno, 0, before);
      return;
    }
    int st;
    while (waitpid(child, &st, __WALL) < 0 && errno == EINTR) {}
    if (!WIFSTOPPED(st)) {
      child = -1;
      send_event(EV_GONE, WIFSIGNALED(st) ? WTERMSIG(st) : 0, WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0, before);
      return;
    }
    int sig = WSTOPSIG(st);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    ptrace(PTRACE_GETSIGINFO, child, 0, &si);
    ptrace(PTRACE_GETREGS, child, 0, &child_regs);
    regs_to_slots(&child_regs, now);
    steps++;
    if (!(sig == SIGTRAP && si.si_code == TRAP_TRACE)) {
      send_event(EV_SIGNAL, sig, si.si_code, (uint64_t)(uintptr_t)si.si_addr, now);
      return;
    }
    if (pushf) unforce_pushed_tf(now[4], pushf);
    if (flip_step >= 0 && (uint64_t)flip_step == steps - 1) {
      now[16] ^= flip_mask;
      set_child_regs(now);
      ptrace(PTRACE_GETREGS, child, 0, &child_regs);
      regs_to_slots(&child_regs, now);
    }
    size_t at = begin_msg(ANS_STEP);
    put_regs(now);
    begin_writes();
    if (run_flags & 1) diff_all();
    else diff_near(now);
    end_writes();
    end_msg(at);
    memcpy(before, now, sizeof before);
    if (is_stop(now[17])) {
      send_event(EV_STOP, 0, 0, 0, now);
      return;
    }
  }
}

static int take_regs(struct cursor *c, uint64_t *s) {
  for (int i = 0; i < NREGS; i++) s[i] = take(c, 8);
  return c->bad ? -1 : 0;
}

static void run(struct cursor *c, int resume) {
  uint64_t s[NREGS];
  if (take_regs(c, s) < 0) { send_text(ANS_ERROR, "RUN/RESUME: short registers"); return; }
  if (!resume) {
    budget = take(c, 8);
    run_flags = (uint32_t)take(c, 4);
    flip_step = (int64_t)take(c, 8);
    flip_mask = take(c, 8);
    stop_count = (uint32_t)take(c, 4);
    if (c->bad || stop_count > MAX_STOPS) { send_text(ANS_ERROR, "RUN: bad header"); return; }
    for (uint32_t i = 0; i < stop_count; i++) stops[i] = take(c, 8);
    if (c->bad) { send_text(ANS_ERROR, "RUN: short stop list"); return; }
    steps = 0;
  }
  if (child <= 0) { send_text(ANS_ERROR, "RUN: no child (LOAD first)"); return; }
  if (set_child_regs(s) < 0) {
    send_text(ANS_ERROR, "PTRACE_SETREGS: %s", strerror(errno));
    return;
  }
  memcpy(before, s, sizeof before);
  step_loop();
}

/* ---- start-up ------------------------------------------------------------ */

/* Can this process trace a child and single-step it? 0, or the errno that says why not. */
static int probe_ptrace(char *detail, size_t n) {
  pid_t pid = fork();
  if (pid < 0) { snprintf(detail, n, "fork: %s", strerror(errno)); return errno; }
  if (pid == 0) {
    if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0) _exit(10 + (errno & 0x3f));
    raise(SIGSTOP);
    _exit(0);
  }
  int st;
  while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR) {}
  if (!WIFSTOPPED(st)) {
    int e = WIFEXITED(st) && WEXITSTATUS(st) >= 10 ? WEXITSTATUS(st) - 10 : EPERM;
    snprintf(detail, n, "PTRACE_TRACEME failed: %s", strerror(e));
    return e ? e : EPERM;
  }
  int err = 0;
  if (ptrace(PTRACE_SINGLESTEP, pid, 0, 0) < 0) {
    err = errno;
    snprintf(detail, n, "PTRACE_SINGLESTEP failed: %s", strerror(err));
  } else {
    while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR) {}
    snprintf(detail, n, "ptrace single-stepping works");
  }
  kill(pid, SIGKILL);
  while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR) {}
  return err;
}

int main(int argc, char **argv) {
  (void)argc;
  /* Fixed addresses for our own mappings: re-execute once without randomisation. */
  int pers = personality(0xffffffff);
  if (pers != -1 && !(pers & ADDR_NO_RANDOMIZE) && !getenv("SEAMLAB_ORACLE_REEXEC")) {
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0 && personality((unsigned long)pers | ADDR_NO_RANDOMIZE) != -1) {
      self[n] = 0;
      setenv("SEAMLAB_ORACLE_REEXEC", "1", 1);
      setenv("GLIBC_TUNABLES", "glibc.pthread.rseq=0", 1);
      execv(self, argv);
    }
  }
  signal(SIGPIPE, SIG_IGN);
  /*
   * Tracer and child on one CPU: every single step is a wake-up of one by
   * the other, and under a hypervisor a wake-up across CPUs costs an IPI
   * (measured: 74 us a step across, 32 us on one CPU). Best effort.
   */
  int cpu = sched_getcpu();
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
  }
  fcntl(1, F_SETPIPE_SZ, 1 << 20);
  char detail[256];
  int probe = probe_ptrace(detail, sizeof detail);
  size_t at = begin_msg(ANS_HELLO);
  put32(PROTOCOL_VERSION);
  put32((uint32_t)probe);
  put(detail, strlen(detail));
  end_msg(at);
  flush_out();

  uint8_t *msg = NULL;
  size_t cap = 0;
  for (;;) {
    uint32_t head[2];
    if (read_full(head, sizeof head) < 0) break;
    if (head[1] > MAX_MESSAGE) { send_text(ANS_ERROR, "request of %u bytes is too long", head[1]); break; }
    if (head[1] > cap) {
      cap = head[1];
      msg = realloc(msg, cap);
      if (!msg) break;
    }
    if (read_full(msg, head[1]) < 0) break;
    struct cursor c = { msg, head[1], 0 };
    switch (head[0]) {
      case REQ_LOAD: load(&c); break;
      case REQ_WRITE: {
        uint64_t address = take(&c, 8);
        struct region *r = c.bad ? NULL : region_of(address, c.left);
        if (!r) { send_text(ANS_ERROR, "WRITE of %zu bytes at 0x%llx is outside the regions", c.left, (unsigned long long)address); goto quit; }
        size_t off = r->offset + (size_t)(address - r->address);
        memcpy(arena + off, c.p, c.left);
        memcpy(shadow + off, c.p, c.left);
        for (size_t p = off / PAGE; c.left && p <= (off + c.left - 1) / PAGE; p++) dirty[p] = 1;
        break;
      }
      case REQ_ZERO:
        /* Every change since the last ZERO went through diff_page or WRITE, which marked its page. */
        for (int i = 0; i < region_count; i++) {
          if (!(regions[i].prot & 2)) continue;
          for (size_t p = regions[i].offset / PAGE; p < (regions[i].offset + regions[i].size) / PAGE; p++) {
            if (!dirty[p]) continue;
            memset(arena + p * PAGE, 0, PAGE);
            memset(shadow + p * PAGE, 0, PAGE);
            dirty[p] = 0;
          }
        }
        break;
      case REQ_RUN: run(&c, 0); break;
      case REQ_RESUME: run(&c, 1); break;
      case REQ_READ: {
        uint64_t address = take(&c, 8);
        uint32_t length = (uint32_t)take(&c, 4);
        struct region *r = c.bad ? NULL : region_of(address, length);
        if (!r) { send_text(ANS_ERROR, "READ of %u bytes at 0x%llx is outside the regions", length, (unsigned long long)address); break; }
        size_t a = begin_msg(ANS_DATA);
        put(arena + r->offset + (size_t)(address - r->address), length);
        end_msg(a);
        flush_out();
        break;
      }
      case REQ_QUIT: goto quit;
      default: send_text(ANS_ERROR, "unknown request type %u", head[0]); goto quit;
    }
  }
quit:
  kill_child();
  return 0;
}
