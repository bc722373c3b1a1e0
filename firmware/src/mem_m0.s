@ The Cortex-M0's (ARMv6-M, Thumb-1) memory routines: memcpy, memset and the run-time ABI's
@ __aeabi_memcpy*, __aeabi_memset* and __aeabi_memclr*, a word at a time when the addresses
@ allow it and a byte at a time otherwise.
@
@ compiler-builtins' versions are 1.3 KB on this core (misaligned copies by shifts and merges,
@ unrolled loops); these are under 0.2 KB, for the small profile's flash. The firmware copies
@ and clears small, mostly word-aligned buffers, so the simple loops cost few instructions. The
@ `softfloat-check` build compares them with byte loops on the core over every alignment and
@ length up to 64 (tests/tests/firmware.rs).

    .syntax unified
    .thumb

    .section .text.ualign_mem_m0,"ax",%progbits
    .p2align 2

@ memcpy(dst r0, src r1, n r2) -> dst; the ABI's variants take the same registers.
    .global memcpy
    .type memcpy,%function
    .thumb_func
memcpy:
    .global __aeabi_memcpy
    .type __aeabi_memcpy,%function
    .thumb_func
__aeabi_memcpy:
    .global __aeabi_memcpy4
    .type __aeabi_memcpy4,%function
    .thumb_func
__aeabi_memcpy4:
    .global __aeabi_memcpy8
    .type __aeabi_memcpy8,%function
    .thumb_func
__aeabi_memcpy8:
    mov r12, r0
    movs r3, r0
    orrs r3, r1
    lsls r3, r3, #30
    bne 3f                  @ either address is not word-aligned: bytes
1:  subs r2, #4
    bcc 2f
    ldm r1!, {r3}
    stm r0!, {r3}
    b 1b
2:  adds r2, #4             @ the 0..3 bytes left
3:  cmp r2, #0
    beq 5f
4:  ldrb r3, [r1]
    strb r3, [r0]
    adds r1, #1
    adds r0, #1
    subs r2, #1
    bne 4b
5:  mov r0, r12
    bx lr
    .size memcpy, . - memcpy

@ memset(dst r0, byte r1, n r2) -> dst: the C order, swapped into the ABI's.
    .global memset
    .type memset,%function
    .thumb_func
memset:
    movs r3, r1
    movs r1, r2
    movs r2, r3
    b __aeabi_memset

@ __aeabi_memclr*(dst r0, n r1): __aeabi_memset with byte 0.
    .global __aeabi_memclr
    .type __aeabi_memclr,%function
    .thumb_func
__aeabi_memclr:
    .global __aeabi_memclr4
    .type __aeabi_memclr4,%function
    .thumb_func
__aeabi_memclr4:
    .global __aeabi_memclr8
    .type __aeabi_memclr8,%function
    .thumb_func
__aeabi_memclr8:
    movs r2, #0

@ __aeabi_memset*(dst r0, n r1, byte r2) -> dst.
    .global __aeabi_memset
    .type __aeabi_memset,%function
    .thumb_func
__aeabi_memset:
    .global __aeabi_memset4
    .type __aeabi_memset4,%function
    .thumb_func
__aeabi_memset4:
    .global __aeabi_memset8
    .type __aeabi_memset8,%function
    .thumb_func
__aeabi_memset8:
    mov r12, r0
    lsls r2, r2, #24        @ the byte in every lane of a word
    lsrs r2, r2, #24
    lsls r3, r2, #8
    orrs r2, r3
    lsls r3, r2, #16
    orrs r2, r3
    lsls r3, r0, #30
    bne 3f                  @ not word-aligned: bytes
1:  subs r1, #4
    bcc 2f
    stm r0!, {r2}
    b 1b
2:  adds r1, #4
3:  cmp r1, #0
    beq 5f
4:  strb r2, [r0]
    adds r0, #1
    subs r1, #1
    bne 4b
5:  mov r0, r12
    bx lr
    .size memset, . - memset
