//! On the Cortex-M0: `memcpy`, `memset` and the run-time ABI's `__aeabi_memcpy*`,
//! `__aeabi_memset*` and `__aeabi_memclr*` from `mem_m0.s` instead of compiler-builtins (a
//! kilobyte of the small profile's flash less). The linker takes these definitions before it
//! looks into compiler-builtins' archive, as for the soft-float routines. The `softfloat-check`
//! build compares them with byte loops on the core ([`check`]).

core::arch::global_asm!(include_str!("mem_m0.s"), options(raw));

#[cfg(feature = "softfloat-check")]
unsafe extern "C" {
    fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8;
    fn memset(dst: *mut u8, byte: i32, n: usize) -> *mut u8;
    fn __aeabi_memcpy4(dst: *mut u8, src: *const u8, n: usize);
    fn __aeabi_memclr4(dst: *mut u8, n: usize);
    fn __aeabi_memset(dst: *mut u8, n: usize, byte: i32);
}

/// Every routine above, at every alignment of source and destination (0 to 3 bytes past a word)
/// and every length up to 64, against a byte loop: the bytes in the range and the guard bytes
/// around it. `None` when all agree, else the first disagreement as (routine, destination
/// offset, source offset, length).
#[cfg(feature = "softfloat-check")]
pub fn check() -> Option<(&'static str, usize, usize, usize)> {
    use core::ptr::{read_volatile, write_volatile};
    #[repr(align(4))]
    struct Buf([u8; 80]);
    let mut src = Buf([0; 80]);
    let mut dst = Buf([0; 80]);
    let mut want = [0u8; 80];
    // Volatile byte stores: a loop the compiler cannot turn into a call of the routines tested.
    let fill = |buf: &mut [u8; 80], seed: u32| {
        for (i, b) in buf.iter_mut().enumerate() {
            let v = (seed ^ (i as u32).wrapping_mul(0x9e37_79b9)) >> 24;
            unsafe { write_volatile(b, v as u8) };
        }
    };
    let read = |buf: &[u8; 80], i: usize| unsafe { read_volatile(&buf[i]) };
    type Routine = (&'static str, bool);
    // (name, aligned only): the `4` variants promise word-aligned arguments.
    let routines: [Routine; 5] = [
        ("memcpy", false),
        ("__aeabi_memcpy4", true),
        ("memset", false),
        ("__aeabi_memclr4", true),
        ("__aeabi_memset", false),
    ];
    for (name, aligned) in routines {
        for d in 0..4usize {
            for s in 0..4usize {
                if aligned && (d != 0 || s != 0) {
                    continue;
                }
                for n in 0..=64usize {
                    let seed = (d * 4 + s) as u32 * 65 + n as u32;
                    fill(&mut src.0, seed);
                    fill(&mut dst.0, !seed);
                    for (i, w) in want.iter_mut().enumerate() {
                        *w = read(&dst.0, i);
                    }
                    let byte = (seed & 0xff) as u8;
                    for i in 0..n {
                        want[8 + d + i] = match name {
                            "memcpy" | "__aeabi_memcpy4" => read(&src.0, 8 + s + i),
                            "__aeabi_memclr4" => 0,
                            _ => byte,
                        };
                    }
                    let (dp, sp) = (
                        dst.0.as_mut_ptr().wrapping_add(8 + d),
                        src.0.as_ptr().wrapping_add(8 + s),
                    );
                    unsafe {
                        match name {
                            "memcpy" => {
                                if memcpy(dp, sp, n) != dp {
                                    return Some((name, d, s, n));
                                }
                            }
                            "__aeabi_memcpy4" => __aeabi_memcpy4(dp, sp, n),
                            "memset" => {
                                if memset(dp, i32::from(byte) | 0x100, n) != dp {
                                    return Some((name, d, s, n));
                                }
                            }
                            "__aeabi_memclr4" => __aeabi_memclr4(dp, n),
                            _ => __aeabi_memset(dp, n, i32::from(byte)),
                        }
                    }
                    if (0..80).any(|i| read(&dst.0, i) != want[i]) {
                        return Some((name, d, s, n));
                    }
                }
            }
        }
    }
    None
}
