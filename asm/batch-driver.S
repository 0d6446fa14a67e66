/*
 * seamlab batch driver: calls one function once per row of a table, so that
 * a batch of N calls enters JavaScript only at the SEAMCALL/TDCALL traps.
 *
 * Assembled by seamlab's own GNU-as front end (plain GNU as syntax, no cpp).
 *
 *   seamlab_batch(table /RDI/, rows /RSI/, fn /RDX/, stride /RCX/)
 *
 * Each row starts with the six System V argument registers in order
 * (RDI, RSI, RDX, RCX, R8, R9: 8 bytes each, offsets 0..40) followed by the
 * slot the function's RAX is stored into (offset 48). The caller chooses the
 * stride (at least 56) so that per-row output structs can follow the row.
 */
	.text
	.globl seamlab_batch
	.type seamlab_batch, @function
seamlab_batch:
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	/* Six pushes leave RSP 8 off a 16-byte boundary; the ABI wants it aligned at each call. */
	subq $8, %rsp
	movq %rdi, %r12
	movq %rsi, %r13
	movq %rdx, %r14
	movq %rcx, %r15
1:
	testq %r13, %r13
	jz 2f
	movq 0(%r12), %rdi
	movq 8(%r12), %rsi
	movq 16(%r12), %rdx
	movq 24(%r12), %rcx
	movq 32(%r12), %r8
	movq 40(%r12), %r9
	call *%r14
	movq %rax, 48(%r12)
	addq %r15, %r12
	decq %r13
	jmp 1b
2:
	addq $8, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	ret
	.size seamlab_batch, . - seamlab_batch
