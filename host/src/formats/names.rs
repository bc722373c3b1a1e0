//! Candidate names to their indices, for the JSON reader's rankings.
//!
//! A ranking names every candidate it lists, so a JSON line of (16, 8, 4) looks up 128 names. The
//! table is built once per instance, into storage kept from instance to instance: open addressing
//! over a power-of-two array of `u16` indices at most a quarter full, a multiplicative hash of the
//! name's bytes read eight at a time, and a comparison on a hit: of one word for a name of fewer
//! than eight bytes (its bytes, which with its length tell it apart), of the bytes otherwise (the
//! table keeps a copy of the longer names). A lookup reads the name's bytes once or twice and one
//! or two slots; the JSON reader looks a short name up by its word ([`Names::get_short`]), read
//! from the text in one load.

/// The table from an instance's candidate names to their indices. It owns what it compares
/// with, so it outlives the text it was built from: `json::Lines` keeps it for the next line.
#[derive(Debug, Default)]
pub struct Names {
    /// `index + 1` of the name whose probe sequence passes here, or 0 for an empty slot.
    slots: Vec<u16>,
    /// `slots.len() - 1`; `slots.len()` is a power of two (empty before the first build).
    mask: usize,
    /// Per name its length and, under eight bytes, its [`short_word`], which with the length
    /// tells it from any other name; for a longer name, where its bytes start in `long`. A
    /// lookup of a short name reads only this.
    entries: Vec<(usize, u64)>,
    /// The bytes of the names of eight bytes or more, end to end.
    long: Vec<u8>,
    /// Whether no name holds a byte that JSON escapes in a string (`"`, `\` or a control
    /// character): see [`Names::plain`].
    plain: bool,
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
pub(crate) fn short_word(name: &[u8]) -> u64 {
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
pub enum NamesError {
    /// The name at this index repeats an earlier one.
    Repeated(usize),
    /// More names than `u16` indices hold.
    TooMany,
}

/// Where a name's probe sequence ends ([`Names::find`]).
enum Probe {
    /// At the name equal to it: its index.
    Found(u16),
    /// At an empty slot (where the name would go).
    Empty(usize),
}

impl Names {
    /// Builds the table of `names`, at most `u16::MAX - 1` of them, in this table's storage.
    /// On an error the table is empty.
    pub fn build<S: AsRef<str>>(&mut self, names: &[S]) -> Result<(), NamesError> {
        let result = self.fill(names);
        if result.is_err() {
            self.entries.clear();
            self.slots.clear();
            self.mask = 0;
            self.plain = false;
        }
        result
    }

    /// [`Names::build`] without the clearing on an error.
    fn fill<S: AsRef<str>>(&mut self, names: &[S]) -> Result<(), NamesError> {
        if names.len() >= usize::from(u16::MAX) {
            return Err(NamesError::TooMany);
        }
        let size = (4 * names.len()).next_power_of_two().max(16);
        self.slots.clear();
        self.slots.resize(size, 0);
        self.mask = size - 1;
        self.entries.clear();
        self.long.clear();
        self.plain = true;
        for (i, name) in names.iter().enumerate() {
            let name = name.as_ref().as_bytes();
            self.plain &= name.iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\');
            let Ok(entry) = u16::try_from(i + 1) else {
                return Err(NamesError::TooMany);
            };
            let (h, last) = hash(name);
            // One probe sequence: an equal name on it is a repeat, and its first empty slot
            // takes the name.
            match self.find(h, name, last) {
                Probe::Found(_) => return Err(NamesError::Repeated(i)),
                Probe::Empty(at) => {
                    if let Some(slot) = self.slots.get_mut(at) {
                        *slot = entry;
                    }
                }
            }
            let len = name.len();
            if len < 8 {
                self.entries.push((len, last));
            } else {
                self.entries.push((len, self.long.len() as u64));
                self.long.extend_from_slice(name);
            }
        }
        Ok(())
    }

    /// The index of `name`, if it is one of the names.
    #[inline(always)]
    pub fn get(&self, name: &[u8]) -> Option<u16> {
        if name.len() < 8 {
            return self.get_short(name.len(), short_word(name));
        }
        let (h, last) = hash(name);
        match self.find(h, name, last) {
            Probe::Found(index) => Some(index),
            Probe::Empty(_) => None,
        }
    }

    /// The probe sequence of `name` (its [`hash`] `h` and last word `last`): the index of the
    /// name equal to it, or the first empty slot. At most a quarter of the slots are full, so an
    /// empty one ends every probe sequence (a table not built yet has no slots: it ends there).
    fn find(&self, h: usize, name: &[u8], last: u64) -> Probe {
        let mut at = h & self.mask;
        loop {
            let Some(index) = self.slots.get(at).and_then(|e| e.checked_sub(1)) else {
                return Probe::Empty(at);
            };
            let equal = match self.entries.get(usize::from(index)) {
                // A short name: its length and word.
                Some(&(len, word)) if len < 8 => (len, word) == (name.len(), last),
                // A longer one: its bytes.
                Some(&(len, from)) => {
                    len == name.len()
                        && usize::try_from(from)
                            .ok()
                            .and_then(|from| self.long.get(from..from + len))
                            == Some(name)
                }
                None => false,
            };
            if equal {
                return Probe::Found(index);
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
            if self.entries.get(usize::from(index)) == Some(&(len, word)) {
                return Some(index);
            }
            at = (at + 1) & self.mask;
        }
    }

    /// Whether no name holds a byte that JSON escapes in a string (`"`, `\` or a control
    /// character). Then text in which such a byte comes before a name's closing quote names
    /// none of these names, whatever it means: a reader may take the name's bytes up to the
    /// first quote and look them up, and a failed lookup sends it to the slow path.
    pub fn plain(&self) -> bool {
        self.plain
    }

    /// How many names there are.
    pub fn count(&self) -> usize {
        self.entries.len()
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
        let mut table = Names::default();
        table.build(&owned).unwrap();
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

    /// A table is plain when no name holds a quote, a backslash or a control character (what
    /// JSON escapes in a string; DEL and bytes above 0x7f it does not), whichever name and byte
    /// it is; a table whose build failed is not.
    #[test]
    fn plain_tables_hold_no_byte_json_escapes() {
        let mut table = Names::default();
        assert!(!table.plain(), "empty");
        for byte in 0u8..=0x7f {
            let odd = String::from(char::from(byte));
            for at in 0..3 {
                let mut names = vec!["a".to_string(), "candidate number 1".to_string()];
                names.insert(at, format!("x{odd}y"));
                table.build(&names).unwrap();
                let plain = byte >= 0x20 && byte != b'"' && byte != b'\\';
                assert_eq!(table.plain(), plain, "{byte:#x} at {at}");
            }
        }
        table.build(&["é", "\u{7f}", "日本"]).unwrap();
        assert!(table.plain());
        assert!(table.build(&["a", "a"]).is_err());
        assert!(!table.plain(), "a failed build");
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
                    .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
                    .collect::<Vec<_>>();
                let bytes: Vec<Vec<u8>> = names.iter().map(|n| n.as_bytes().to_vec()).collect();
                let mut table = Names::default();
                table.build(&names).unwrap();
                for (i, b) in bytes.iter().enumerate() {
                    assert_eq!(table.get(b), Some(i as u16), "{b:?}");
                }
                if byte.is_ascii() {
                    assert_eq!(table.get(&owned[missing]), None, "{:?}", owned[missing]);
                }
            }
        }
    }

    /// A probe compares a short name's length as well as its word: `"\0\0"` probed from the
    /// slot of `"\0"` (the same word, zero) is not found there, which building relies on to
    /// tell them apart (`get` takes `get_short`, which checks the same).
    #[test]
    fn a_probe_tells_short_names_of_one_word_apart_by_length() {
        let mut table = Names::default();
        table.build(&["\0"]).unwrap();
        let (h, last) = hash(b"\0");
        assert!(matches!(table.find(h, b"\0\0", last), Probe::Empty(_)));
        assert!(matches!(table.find(h, b"\0", last), Probe::Found(0)));
    }

    #[test]
    fn a_repeated_name_is_refused_at_its_second_index() {
        let mut table = Names::default();
        assert_eq!(
            table.build(&["a", "b", "c", "b"]),
            Err(NamesError::Repeated(3))
        );
        assert_eq!(table.get(b"a"), None, "a refused table is empty");
        let many: Vec<String> = (0..u16::MAX).map(|i| i.to_string()).collect();
        assert_eq!(table.build(&many), Err(NamesError::TooMany));
        table.build::<&str>(&[]).unwrap();
        assert_eq!(table.get(b"a"), None);
    }

    /// A table built again holds only the new names: every lookup of the new ones and of the
    /// old ones against a linear search, long names among them.
    #[test]
    fn a_table_built_again_forgets_the_names_before() {
        let mut table = Names::default();
        let first = ["a", "a long candidate name", "bb", "another long one"];
        let second = ["bb", "yet another long name", "c"];
        table.build(&first).unwrap();
        table.build(&second).unwrap();
        assert_eq!(table.count(), 3);
        for name in first.iter().chain(&second) {
            let want = second.iter().position(|s| s == name).map(|i| i as u16);
            assert_eq!(table.get(name.as_bytes()), want, "{name}");
        }
    }
}
