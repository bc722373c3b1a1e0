//! Block sums: users are summed in blocks of [`BLOCK`] into a block partial, then the partials
//! into the total, which keeps the rounding error of 100,000 users near that of a few hundred.
//! Every layout of the population's oracle ([`super::kernel`], [`super::wide`]) ends its blocks
//! here, so their totals are added in the same order, and a caller can ask for the partials
//! themselves ([`Sink::Blocks`], [`super::block_sums_into`]) to add them on several threads.

use super::BLOCK;

/// Number of blocks of [`BLOCK`] user types in a population of `m`: the rows of
/// [`block_sums_into`](super::block_sums_into).
pub fn blocks(m: usize) -> usize {
    m.div_ceil(BLOCK)
}

/// Where a kernel puts the sums of each block of users.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sink {
    /// Added into `out` in order, from zero, then divided by `k + 1`: the shares.
    Shares,
    /// Block `b`'s sums into `out[b n..(b+1) n]`, not divided
    /// ([`block_sums_into`](super::block_sums_into)).
    Blocks,
}

impl Sink {
    /// Before the first block: the total starts at zero.
    #[inline(always)]
    pub(crate) fn start(self, out: &mut [f32]) {
        if self == Sink::Shares {
            for o in out.iter_mut() {
                *o = 0.0;
            }
        }
    }

    /// Adds a block's sums into the total (or, under [`Sink::Blocks`], stores them as row `row`
    /// of `n` and moves to the next row) and zeroes the block for the next one.
    #[inline(always)]
    pub(crate) fn flush(self, block: &mut [f32], out: &mut [f32], n: usize, row: &mut usize) {
        match self {
            Sink::Shares => {
                for (o, &b) in out.iter_mut().zip(block.iter()) {
                    *o += b;
                }
            }
            Sink::Blocks => {
                let to = out.get_mut(*row * n..).unwrap_or(&mut []);
                for (o, &b) in to.iter_mut().take(n).zip(block.iter()) {
                    *o = b;
                }
                *row += 1;
            }
        }
        for b in block.iter_mut() {
            *b = 0.0;
        }
    }

    /// After the last block: the total divided by `k + 1` gives the shares.
    #[inline(always)]
    pub(crate) fn finish(self, out: &mut [f32], k: u32) {
        if self == Sink::Shares {
            let scale = (k + 1) as f32;
            for o in out.iter_mut() {
                *o /= scale;
            }
        }
    }
}
