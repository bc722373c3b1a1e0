//! The softmax both Hedge variants map their log-weights through.

use crate::float;

/// `pi = softmax(logits)`, shifting the logits so their maximum is 0 (keeps them bounded over
/// many rounds without changing the policy).
pub(super) fn softmax(logits: &mut [f32], pi: &mut [f32]) {
    let max = maximum(logits);
    let mut z = 0.0f32;
    // On a host the exponentials are one vectorised pass (`float::exp_into`); a
    // microcontroller has no vector units and takes them one by one, in one loop.
    #[cfg(not(target_os = "none"))]
    {
        for l in logits.iter_mut() {
            *l -= max;
        }
        float::exp_into(logits, pi);
        for &p in pi.iter().take(logits.len()) {
            z += p;
        }
    }
    #[cfg(target_os = "none")]
    for (l, p) in logits.iter_mut().zip(pi.iter_mut()) {
        *l -= max;
        *p = float::exp(*l);
        z += *p;
    }
    for p in pi.iter_mut() {
        *p /= z;
    }
}

/// The largest of `logits` (`-inf` when empty; a NaN is passed over). On a host, four running
/// maxima ([`float::max_from`]): the same value as one chain's (of equal values, a zero's sign
/// may differ, which changes no `l - max` but a zero's sign, and no exponential). A
/// microcontroller runs one chain, in less code.
fn maximum(logits: &[f32]) -> f32 {
    #[cfg(not(target_os = "none"))]
    let max = float::max_from(f32::NEG_INFINITY, logits);
    #[cfg(target_os = "none")]
    let max = logits
        .iter()
        .fold(f32::NEG_INFINITY, |max, &l| if l > max { l } else { max });
    max
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    /// The softmax with one running maximum, as written before the four lanes.
    fn one_chain(logits: &mut [f32], pi: &mut [f32]) {
        let mut max = f32::NEG_INFINITY;
        for &l in logits.iter() {
            if l > max {
                max = l;
            }
        }
        let mut z = 0.0f32;
        for (l, p) in logits.iter_mut().zip(pi.iter_mut()) {
            *l -= max;
            *p = float::exp(*l);
            z += *p;
        }
        for p in pi.iter_mut() {
            *p /= z;
        }
    }

    /// The four running maxima give the one chain's policy bit for bit, and its shifted
    /// log-weights up to a zero's sign: every length from 1 to 19, with repeated maxima, zeros
    /// of both signs, infinities below and a NaN (passed over by both).
    #[test]
    fn lanes_give_the_one_chain_policy() {
        let mut next = crate::xorshift32(0x50f7_3a11);
        let pick = [
            0.0f32,
            -0.0,
            1.5,
            1.5,
            -3.0,
            2.0,
            f32::NEG_INFINITY,
            f32::NAN,
            -0.0,
        ];
        for n in 1..20usize {
            for _ in 0..if cfg!(miri) { 4 } else { 400 } {
                let logits: Vec<f32> = (0..n)
                    .map(|_| match next() % 4 {
                        0 => pick[(next() % pick.len() as u32) as usize],
                        _ => (next() % 2001) as f32 / 250.0 - 4.0,
                    })
                    .collect();
                let (mut a, mut b) = (logits.clone(), logits.clone());
                let (mut pa, mut pb) = (std::vec![0.0f32; n], std::vec![0.0f32; n]);
                softmax(&mut a, &mut pa);
                one_chain(&mut b, &mut pb);
                // A NaN's bits are not specified (Miri picks them at random): any NaN is one.
                let bits = |v: &[f32]| {
                    v.iter()
                        .map(|x| if x.is_nan() { u32::MAX } else { x.to_bits() })
                        .collect::<Vec<_>>()
                };
                assert_eq!(bits(&pa), bits(&pb), "{logits:?}");
                let zero_signless = |v: &[f32]| {
                    v.iter()
                        .map(|&x| match x {
                            _ if x.is_nan() => u32::MAX,
                            0.0 => 0,
                            _ => x.to_bits(),
                        })
                        .collect::<Vec<_>>()
                };
                assert_eq!(zero_signless(&a), zero_signless(&b), "{logits:?}");
            }
        }
    }
}
