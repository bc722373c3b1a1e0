@ The Cortex-M0's (ARMv6-M, Thumb-1) f32 addition, subtraction and multiplication: the common
@ case of two normal operands with a normal result, and a zero operand, in assembly; everything
@ else (subnormals, infinities, NaNs, results near overflow or underflow, cancellation) in
@ ualign-softfloat's complete routines (`ualign_fadd_slow`, `ualign_fmul_slow` in softfloat.rs).
@
@ These are the operations of ualign-softfloat's fast paths (softfloat/src/add.rs, mul.rs), so
@ the results are the same correctly rounded bits. The assembly exists because the compiled
@ fast paths lose about a fifth of their instructions to the frame pointer that thumbv6m keeps
@ and to spilling what does not fit the seven registers left. The firmware's `softfloat-check`
@ build runs both on the Cortex-M0 under QEMU and compares their bits (tests/tests/firmware.rs).

    .syntax unified
    .thumb

    .section .text.ualign_softfloat_m0,"ax",%progbits
    .p2align 2

@ a - b: a + (-b). Falls through into __aeabi_fadd.
    .global __aeabi_fsub
    .type __aeabi_fsub,%function
    .thumb_func
__aeabi_fsub:
    movs r2, #1
    lsls r2, r2, #31
    eors r1, r2

@ a + b (r0, r1) -> r0.
    .global __aeabi_fadd
    .type __aeabi_fadd,%function
    .thumb_func
__aeabi_fadd:
    push {r4, r5, r6, lr}
    @ x (r4) is the operand of larger magnitude, y (r5) the other; r6 and r3 their exponent
    @ fields. r0 and r1 keep a and b for the complete routine.
    lsls r2, r0, #1
    lsls r3, r1, #1
    cmp r2, r3
    bhs 1f
    movs r4, r1
    movs r5, r0
    lsrs r6, r3, #24
    lsrs r3, r2, #24
    b 2f
1:  movs r4, r0
    movs r5, r1
    lsrs r6, r2, #24
    lsrs r3, r3, #24
2:  beq 8f                  @ y is zero or subnormal
    cmp r6, #253
    bhi 9f                  @ x is infinite or NaN, or the sum may overflow
    @ The significands at bits 29..6: two bits of headroom, six below for rounding.
    movs r0, #1
    lsls r0, r0, #29
    lsls r1, r5, #9
    lsrs r1, r1, #3
    adds r1, r1, r0         @ my
    lsls r2, r4, #9
    lsrs r2, r2, #3
    adds r2, r2, r0         @ mx
    @ my shifted right by d = ex - ey, what falls off kept as a sticky bit.
    subs r3, r6, r3
    beq 4f
    cmp r3, #30
    bhi 3f
    movs r0, r1
    lsrs r1, r3
    negs r3, r3
    adds r3, #32
    lsls r0, r3             @ the bits shifted out, at the top
    subs r3, r0, #1
    sbcs r0, r3             @ 1 if any was set
    orrs r1, r0
    b 4f
3:  movs r1, #1             @ all of y is below the rounding bits
4:  eors r5, r4
    bmi 7f                  @ the signs differ
    adds r2, r2, r1         @ m = mx + my, in [2^29, 2^31)
    lsrs r0, r2, #30
    bne 6f
    @ m in [2^29, 2^30): x's exponent.
5:  lsrs r3, r4, #23
    subs r3, #1
    lsls r3, r3, #23        @ x's sign and exponent field, minus one
    @ Round to nearest, ties to even, in one addition (see add.rs); the rounded significand's
    @ implicit bit, bit 23, adds the one back (and a carry out of it steps the exponent).
    lsls r0, r2, #25
    lsrs r0, r0, #31
    adds r2, r2, r0
    adds r2, #31
    lsrs r2, r2, #6
    adds r0, r3, r2
    pop {r4, r5, r6, pc}
    @ m in [2^30, 2^31): one exponent up. Rounding at bit 7 directly gives the bits that
    @ add.rs's shift by one (keeping the lost bit as sticky) and rounding at bit 6 give.
6:  lsrs r3, r4, #23
    lsls r3, r3, #23        @ x's sign and exponent field
    lsls r0, r2, #24
    lsrs r0, r0, #31
    adds r2, r2, r0
    adds r2, #63
    lsrs r2, r2, #7
    adds r0, r3, r2
    pop {r4, r5, r6, pc}
7:  subs r2, r2, r1         @ m = mx - my (x is the larger)
    lsrs r0, r2, #29
    bne 5b                  @ no cancellation: m in [2^29, 2^30)
    @ Cancellation: the complete routine, on x and y (their sum is a + b, bit for bit).
    eors r5, r4
    movs r0, r4
    movs r1, r5
    b 9f
    @ y is zero or subnormal. x + 0 is x for a finite x; two zeros sum to -0 only if both are.
    @ (A share recurrence starts from zero, so this case is common.)
8:  lsls r2, r5, #1
    bne 9f                  @ y is subnormal
    cmp r6, #255
    beq 9f                  @ x is infinite or NaN
    lsls r2, r4, #1
    beq 0f
    movs r0, r4
    pop {r4, r5, r6, pc}
0:  ands r0, r1
    pop {r4, r5, r6, pc}
9:  bl ualign_fadd_slow
    pop {r4, r5, r6, pc}
    .size __aeabi_fadd, . - __aeabi_fadd
    .size __aeabi_fsub, . - __aeabi_fsub

@ a * b (r0, r1) -> r0.
    .p2align 2
    .global __aeabi_fmul
    .type __aeabi_fmul,%function
    .thumb_func
__aeabi_fmul:
    push {r4, r5, r6, lr}
    @ Normal operands (exponent fields 1..=254) whose product's field, e - 127 or e - 126 for
    @ e = ea + eb, is 1..=254: r2 = e - 128 in 0..=252.
    lsls r2, r0, #1
    lsrs r2, r2, #24
    subs r3, r2, #1
    cmp r3, #253
    bhi 9f
    lsls r3, r1, #1
    lsrs r3, r3, #24
    adds r2, r2, r3
    subs r3, r3, #1
    cmp r3, #253
    bhi 9f
    subs r2, #128
    cmp r2, #252
    bhi 9f
    @ The significands' 16-bit halves: al, bl (r3, r4) and ah, bh with the implicit bit (r5, r6).
    uxth r3, r0
    uxth r4, r1
    lsls r5, r0, #9
    lsrs r5, r5, #25
    adds r5, #128
    lsls r6, r1, #9
    lsrs r6, r6, #25
    adds r6, #128
    eors r0, r1             @ the product's sign, bit 31
    @ t = the 48-bit product over 2^16 = (ah bh << 16) + al bh + ah bl + (al bl >> 16), the
    @ first two as one product of a's whole significand and bh (below 2^32).
    movs r1, r3
    muls r1, r4             @ al bl
    muls r4, r5             @ ah bl
    lsls r5, r5, #16
    adds r5, r5, r3         @ a's significand
    muls r5, r6             @ a's significand times bh
    lsrs r3, r1, #16
    adds r4, r4, r3
    uxth r1, r1
    subs r3, r1, #1
    sbcs r1, r3             @ sticky: 1 if the low 16 bits of al bl are not all zero
    adds r4, r4, r5         @ t, in [2^30, 2^32)
    bmi 1f
    orrs r4, r1             @ the significand at bits 30..7
    b 2f
1:  movs r3, #1             @ t >= 2^31: shift by one, the lost bit kept as sticky
    ands r3, r4
    orrs r3, r1
    lsrs r4, r4, #1
    orrs r4, r3
    adds r2, #1             @ one exponent up
    @ Round to nearest, ties to even (see mul.rs), and pack.
2:  lsls r3, r4, #24
    lsrs r3, r3, #31
    adds r4, r4, r3
    adds r4, #63
    lsrs r4, r4, #7
    lsls r2, r2, #23
    adds r4, r4, r2
    lsrs r0, r0, #31
    lsls r0, r0, #31
    orrs r0, r4
    pop {r4, r5, r6, pc}
    @ Not the common case. A zero times a finite operand is a zero with the product's sign;
    @ everything else goes to the complete routine.
9:  lsls r2, r0, #1
    lsls r3, r1, #1
    movs r4, #255
    lsls r4, r4, #24
    cmp r2, r4
    bhs 8f                  @ a is infinite or NaN
    cmp r3, r4
    bhs 8f                  @ b is infinite or NaN
    cmp r2, #0
    beq 0f
    cmp r3, #0
    bne 8f
0:  eors r0, r1
    lsrs r0, r0, #31
    lsls r0, r0, #31
    pop {r4, r5, r6, pc}
8:  bl ualign_fmul_slow
    pop {r4, r5, r6, pc}
    .size __aeabi_fmul, . - __aeabi_fmul
