//! The two checksums of a frame: CRC-8 over the header, CRC-32 over the whole frame.

/// CRC-8 with polynomial `0x07`, initial value 0, no reflection (CRC-8/SMBUS).
/// `crc8(b"123456789") == 0xF4`.
pub fn crc8(bytes: &[u8]) -> u8 {
    let mut crc = 0u8;
    for &b in bytes {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x07
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Nibble table of the reflected IEEE polynomial `0xEDB88320`.
const TABLE: [u32; 16] = {
    let mut t = [0u32; 16];
    let mut i = 0;
    while i < 16 {
        let mut c = i as u32;
        let mut j = 0;
        while j < 4 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
            j += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// A running CRC-32 (IEEE 802.3, the zlib/PNG CRC). `Crc32::new().update(b"123456789").finish()
/// == 0xCBF43926`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crc32(u32);

impl Default for Crc32 {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc32 {
    /// A fresh CRC.
    pub const fn new() -> Self {
        Crc32(0xFFFF_FFFF)
    }

    /// Feeds `bytes`.
    #[must_use]
    pub fn update(mut self, bytes: &[u8]) -> Self {
        for &b in bytes {
            self = self.byte(b);
        }
        self
    }

    /// Feeds one byte.
    #[must_use]
    pub fn byte(self, b: u8) -> Self {
        let mut c = self.0 ^ b as u32;
        c = (c >> 4) ^ TABLE[(c & 15) as usize];
        c = (c >> 4) ^ TABLE[(c & 15) as usize];
        Crc32(c)
    }

    /// The checksum of everything fed.
    pub fn finish(self) -> u32 {
        !self.0
    }
}

/// CRC-32 of `bytes` in one go.
pub fn crc32(bytes: &[u8]) -> u32 {
    Crc32::new().update(bytes).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_values() {
        assert_eq!(crc8(b"123456789"), 0xF4);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }
}
