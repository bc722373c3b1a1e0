//! Candidate names to their indices, for the JSON reader's rankings.
//!
//! A ranking names every candidate it lists, so a JSON line of (16, 8, 4) looks up 128 names. The
//! table is built once per instance: open addressing over a power-of-two array of `u16` indices at
//! most a quarter full, a multiplicative hash of the name's bytes read eight at a time, and a
//! comparison on a hit: of one word for a name of fewer than eight bytes (its bytes, which with its
//! length tell it apart), of the bytes otherwise. A lookup reads the name's bytes once or twice and
//! one or two slots; the JSON reader looks a short name up by its word ([`Names::get_short`]), read
//! from the text in one load.

use std::borrow::Cow;

/// The names of an instance's candidates (borrowed from the text unless they held escapes) and
/// a table from each name to its index.
#[derive(Debug)]
pub struct Names<'a> {
    /// The names, in candidate order.
    names: Vec<Cow<'a, str>>,
    /// `index + 1` of the name whose probe sequence passes here, or 0 for an empty slot.
    slots: Vec<u16>,
    /// `slots.len() - 1`; `slots.len()` is a power of two.
    mask: usize,
    /// Per name its length and, under eight bytes, its [`short_word`], which with the length
    /// tells it from any other name (0 for longer names, compared byte by byte). A lookup of a
    /// short name reads only this.
    short: Vec<(usize, u64)>,
}

/// The multiplier of the hash (rustc's FxHash constant).
const K: u64 = 0xf135_7aea_2e62_a9c5;

/// The hash of a name: its length, then its bytes eight at a time, each word folded in by a
/// rotate, an xor and a multiplication; the high half, which depends on every input bit. The
/// last one to seven bytes make one more word: a name of fewer than eight bytes its
/// [`short_word`] ([`short_hash`]), a longer one two overlapping reads ([`tail`]). With it, that
/// last word.
#[inline(always)]
fn hash(name: &[u8]) -> (usize, u64) {
    if name.len() < 8 {
        let word = short_word(name);
        return (short_hash(name.len(), word), word);
    }
    let mut h = name.len() as u64;
    let mut words = name.chunks_exact(8);
    for w in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        h = (h.rotate_left(26) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    let last = tail(words.remainder());
    h = (h.rotate_left(26) ^ last).wrapping_mul(K);
    ((h >> 32) as usize, last)
}

/// [`hash`] of a name of `len < 8` bytes whose [`short_word`] is `word`.
#[inline(always)]
fn short_hash(len: usize, word: u64) -> usize {
    (((len as u64).rotate_left(26) ^ word).wrapping_mul(K) >> 32) as usize
}

/// The bytes of a name of fewer than eight bytes as a little-endian word, zero above them (with
/// the length, the name itself; 0 for a longer name). Read as [`tail`] reads, in registers:
/// four to seven bytes as their first four and their last four (the overlap ORed with itself),
/// one to three as the first, the middle and the last byte. (A copy into a zeroed word on the
/// stack, loaded back, would stall the load on the copy's stores.)
#[inline(always)]
pub(super) fn short_word(name: &[u8]) -> u64 {
    let len = name.len();
    if len >= 8 {
        0
    } else if len >= 4 {
        four(name, 0) | four(name, len - 4) << (8 * (len - 4))
    } else if len > 0 {
        byte(name, 0)
            | byte(name, len / 2) << (8 * (len / 2))
            | byte(name, len - 1) << (8 * (len - 1))
    } else {
        0
    }
}

/// The last one to seven bytes `r` of a longer name as a word, without copying them one by
/// one: four to seven bytes as their first four and their last four, one to three as the
/// first, the middle and the last byte. Every byte is read, so with the length (which [`hash`]
/// starts from) different bytes make different words.
fn tail(r: &[u8]) -> u64 {
    let len = r.len();
    if len >= 4 {
        four(r, 0) | four(r, len - 4) << 32
    } else if len > 0 {
        byte(r, 0) | byte(r, len / 2) << 8 | byte(r, len - 1) << 16
    } else {
        0
    }
}

/// The four bytes of `r` from `at` as a little-endian word (0 when they run past its end).
#[inline(always)]
fn four(r: &[u8], at: usize) -> u64 {
    r.get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, |b| u64::from(u32::from_le_bytes(b)))
}

/// The byte of `r` at `at` (0 past its end).
#[inline(always)]
fn byte(r: &[u8], at: usize) -> u64 {
    r.get(at).map_or(0, |&b| u64::from(b))
}

/// Why names make no table.
#[derive(Debug, PartialEq)]
pub enum NamesError<'a> {
    /// The name at this index repeats an earlier one.
    Repeated(usize, Cow<'a, str>),
    /// More names than `u16` indices hold.
    TooMany,
}

impl<'a> Names<'a> {
    /// The table of `names`, at most `u16::MAX - 1` of them.
    pub fn new(names: Vec<Cow<'a, str>>) -> Result<Names<'a>, NamesError<'a>> {
        if names.len() >= usize::from(u16::MAX) {
            return Err(NamesError::TooMany);
        }
        let size = (4 * names.len()).next_power_of_two().max(16);
        let mut table = Names {
            slots: vec![0; size],
            mask: size - 1,
            names: Vec::with_capacity(names.len()),
            short: Vec::with_capacity(names.len()),
        };
        for (i, name) in names.into_iter().enumerate() {
            let Ok(entry) = u16::try_from(i + 1) else {
                return Err(NamesError::TooMany);
            };
            if table.get(name.as_bytes()).is_some() {
                return Err(NamesError::Repeated(i, name));
            }
            let (h, last) = hash(name.as_bytes());
            let mut at = h & table.mask;
            while let Some(slot) = table.slots.get_mut(at) {
                if *slot == 0 {
                    *slot = entry;
                    break;
                }
                at = (at + 1) & table.mask;
            }
            let len = name.len();
            table.short.push((len, if len < 8 { last } else { 0 }));
            table.names.push(name);
        }
        Ok(table)
    }

    /// The index of `name`, if it is one of the names.
    #[inline(always)]
    pub fn get(&self, name: &[u8]) -> Option<u16> {
        if name.len() < 8 {
            return self.get_short(name.len(), short_word(name));
        }
        let (h, _) = hash(name);
        let mut at = h & self.mask;
        // At most a quarter of the slots are full, so an empty one ends every probe sequence.
        loop {
            let entry = *self.slots.get(at)?;
            let index = entry.checked_sub(1)?;
            let i = usize::from(index);
            if self.names.get(i).is_some_and(|n| n.as_bytes() == name) {
                return Some(index);
            }
            at = (at + 1) & self.mask;
        }
    }

    /// The index of the name of `len < 8` bytes whose [`short_word`] is `word`, if it is one of
    /// the names (`None` for `len >= 8`).
    #[inline(always)]
    pub fn get_short(&self, len: usize, word: u64) -> Option<u16> {
        if len >= 8 {
            return None;
        }
        let mut at = short_hash(len, word) & self.mask;
        loop {
            let entry = *self.slots.get(at)?;
            let index = entry.checked_sub(1)?;
            if self.short.get(usize::from(index)) == Some(&(len, word)) {
                return Some(index);
            }
            at = (at + 1) & self.mask;
        }
    }

    /// How many names there are.
    pub fn count(&self) -> usize {
        self.names.len()
    }

    /// The names, in candidate order, into `out`: its strings take them without allocating
    /// where they have room, and the strings past the last name go.
    pub fn write_into(&self, out: &mut Vec<String>) {
        out.truncate(self.names.len());
        for (i, name) in self.names.iter().enumerate() {
            match out.get_mut(i) {
                Some(s) => {
                    s.clear();
                    s.push_str(name);
                }
                None => out.push(name.to_string()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name found at its own index, and nothing else found, against a linear search, over
    /// names that collide in length, share prefixes, cross the eight-byte word and hold bytes
    /// above 0x7f.
    #[test]
    fn finds_exactly_the_names_against_a_linear_search() {
        let owned: Vec<String> = (0..300)
            .map(|i| match i % 4 {
                0 => format!("c{i}"),
                1 => format!("candidate number {i}"),
                2 => format!("é{i}ü"),
                _ => "x".repeat(i / 4),
            })
            .collect();
        let names: Vec<&[u8]> = owned.iter().map(|s| s.as_bytes()).collect();
        let table = Names::new(owned.iter().map(|s| Cow::from(s.as_str())).collect()).unwrap();
        assert_eq!(table.count(), 300);
        for (i, name) in names.iter().enumerate() {
            assert_eq!(table.get(name), Some(i as u16), "{:?}", owned[i]);
        }
        let probes = [
            "",
            "c",
            "c0 ",
            "candidate number",
            "x".repeat(76).as_str(),
            "é0",
            "C0",
        ]
        .map(String::from);
        for p in probes {
            let want = names
                .iter()
                .position(|n| *n == p.as_bytes())
                .map(|i| i as u16);
            assert_eq!(table.get(p.as_bytes()), want, "{p:?}");
        }
        // "x".repeat(0) is the empty name, at index 3.
        assert_eq!(table.get(b""), Some(3));
    }

    /// The short word of a name under eight bytes is its bytes in a zeroed little-endian word,
    /// for every length and bytes of every value at every offset; 0 from eight bytes on.
    #[test]
    fn short_words_are_the_bytes_zero_padded() {
        for len in 0..8usize {
            for byte in 0..=255u8 {
                for at in 0..len.max(1) {
                    let mut name: Vec<u8> = (1..=len as u8).collect();
                    if let Some(b) = name.get_mut(at) {
                        *b = byte;
                    }
                    let mut want = [0u8; 8];
                    want[..len].copy_from_slice(&name);
                    assert_eq!(short_word(&name), u64::from_le_bytes(want), "{name:?}");
                }
            }
        }
        assert_eq!(short_word(b"eight by"), 0);
    }

    /// The tail word of one to seven bytes differs for any two byte strings of one length (so
    /// that long names differing in their last bytes hash apart).
    #[test]
    fn tail_words_tell_every_short_string_apart() {
        for len in 0..8usize {
            let mut seen = std::collections::HashMap::new();
            // Every string of `len` bytes over an alphabet of three, 0xff among them.
            for code in 0..3usize.pow(len as u32) {
                let bytes: Vec<u8> = (0..len)
                    .map(|i| [b'a', 0xff, 0][code / 3usize.pow(i as u32) % 3])
                    .collect();
                if let Some(other) = seen.insert(tail(&bytes), bytes.clone()) {
                    panic!("{bytes:?} and {other:?}");
                }
            }
        }
    }

    /// Names of one to seven equal bytes, over every byte value: those of zero bytes share
    /// their word, and the lookup tells them apart by length. Each table lacks one of them,
    /// which must not be found.
    #[test]
    fn short_names_with_one_tail_word_are_told_apart_by_length() {
        for byte in 0..=255u8 {
            let owned: Vec<Vec<u8>> = (1..=7).map(|len| vec![byte; len]).collect();
            for missing in 0..owned.len() {
                let names = owned
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| i != missing)
                    .map(|(_, b)| Cow::from(String::from_utf8_lossy(b).into_owned()))
                    .collect::<Vec<_>>();
                let bytes: Vec<Vec<u8>> = names.iter().map(|n| n.as_bytes().to_vec()).collect();
                let table = Names::new(names).unwrap();
                for (i, b) in bytes.iter().enumerate() {
                    assert_eq!(table.get(b), Some(i as u16), "{b:?}");
                }
                if byte.is_ascii() {
                    assert_eq!(table.get(&owned[missing]), None, "{:?}", owned[missing]);
                }
            }
        }
    }

    #[test]
    fn a_repeated_name_is_refused_at_its_second_index() {
        let names = ["a", "b", "c", "b"].map(Cow::from).to_vec();
        assert_eq!(
            Names::new(names).unwrap_err(),
            NamesError::Repeated(3, Cow::from("b"))
        );
        let many = (0..u16::MAX).map(|i| Cow::from(i.to_string())).collect();
        assert_eq!(Names::new(many).unwrap_err(), NamesError::TooMany);
        assert_eq!(Names::new(Vec::new()).unwrap().get(b"a"), None);
    }
}
