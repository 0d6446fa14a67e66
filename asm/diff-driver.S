/*
 * seamlab differential batch driver (src/diff/fuzz-batch.ts): calls one
 * function once per row of a table, every row with its own registers, and
 * records every register the caller sees afterwards, so a batch compares
 * whole calls, not only RAX. JavaScript runs only at the SEAMCALL/TDCALL
 * traps.
 *
 * Assembled by seamlab's own GNU-as front end (plain GNU as syntax, no cpp),
 * with `DIFF_CTL` (the absolute address of the control block, in caller
 * memory below 2 GiB) and `DIFF_NATIVE` defined in front of this text.
 * With DIFF_NATIVE = 1 the registers after the call are not stored by this
 * code: a native hook at seamlab_diff_capture copies them into the row and
 * advances it (src/machine/native/batch-hooks.c), because every guest store
 * is slow in Unicorn 2.0.1. The only store left per row is the call's
 * return address.
 *
 * Control block at DIFF_CTL:
 *   +0  address of the current row      +8  rows left
 *   +16 the function                    +24 row stride
 *   +32 scratch (RAX after the call)    +40 RSP at the call (set once)
 *
 * Row:
 *   +0   the 16 GPRs loaded before the call, in encoding order (RSP's slot unused)
 *   +128 RFLAGS loaded before the call
 *   +136 the 16 GPRs after the call (RSP's slot: RSP after the return)
 *   +264 RFLAGS after the call
 */
	.text
	.globl seamlab_diff_batch
	.type seamlab_diff_batch, @function
seamlab_diff_batch:
1:
	cmpq $0, DIFF_CTL+8
	je 2f
	/* RFLAGS straight from the row (RSP pointed at it): popfq without a push. */
	movq DIFF_CTL+0, %rsp
	leaq 128(%rsp), %rsp
	popfq
	movq DIFF_CTL+40, %rsp
	movq DIFF_CTL+0, %rax
	movq 8(%rax), %rcx
	movq 16(%rax), %rdx
	movq 24(%rax), %rbx
	movq 40(%rax), %rbp
	movq 48(%rax), %rsi
	movq 56(%rax), %rdi
	movq 64(%rax), %r8
	movq 72(%rax), %r9
	movq 80(%rax), %r10
	movq 88(%rax), %r11
	movq 96(%rax), %r12
	movq 104(%rax), %r13
	movq 112(%rax), %r14
	movq 120(%rax), %r15
	movq 0(%rax), %rax
	call *DIFF_CTL+16
	.globl seamlab_diff_capture
seamlab_diff_capture:
.if DIFF_NATIVE
	/* The native hook has stored the registers and advanced the row. */
	movq DIFF_CTL+40, %rsp
	jmp 1b
.else
	movq %rax, DIFF_CTL+32
	pushfq
	movq DIFF_CTL+0, %rax
	popq 264(%rax)
	movq %rsp, 168(%rax)
	movq %rcx, 144(%rax)
	movq %rdx, 152(%rax)
	movq %rbx, 160(%rax)
	movq %rbp, 176(%rax)
	movq %rsi, 184(%rax)
	movq %rdi, 192(%rax)
	movq %r8, 200(%rax)
	movq %r9, 208(%rax)
	movq %r10, 216(%rax)
	movq %r11, 224(%rax)
	movq %r12, 232(%rax)
	movq %r13, 240(%rax)
	movq %r14, 248(%rax)
	movq %r15, 256(%rax)
	movq DIFF_CTL+32, %rcx
	movq %rcx, 136(%rax)
	movq DIFF_CTL+40, %rsp
	movq DIFF_CTL+24, %rcx
	addq %rcx, DIFF_CTL+0
	decq DIFF_CTL+8
	jmp 1b
.endif
2:
	ret
	.size seamlab_diff_batch, . - seamlab_diff_batch
