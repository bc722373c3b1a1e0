//! The softmax both Hedge variants map their log-weights through.

use crate::float;

/// `pi = softmax(logits)`, shifting the logits so their maximum is 0 (keeps them bounded over
/// many rounds without changing the policy).
pub(super) fn softmax(logits: &mut [f32], pi: &mut [f32]) {
    let mut max = f32::NEG_INFINITY;
    for &l in logits.iter() {
        if l > max {
            max = l;
        }
    }
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
