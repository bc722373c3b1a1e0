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
    for l in logits.iter_mut() {
        *l -= max;
    }
    float::exp_into(logits, pi);
    let mut z = 0.0f32;
    for &p in pi.iter().take(logits.len()) {
        z += p;
    }
    for p in pi.iter_mut() {
        *p /= z;
    }
}
