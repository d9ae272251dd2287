//! XDR (RFC 4506) as libvirt's rpcgen/libtirpc code emits it: big-endian, 4-byte
//! aligned, zero padding.
//!
//! Owns the primitive encodings only (ints, hypers, strings, opaques, optionals, the
//! widened `char` arrays); the structs built from them live in [`crate::protocol`].
//! The decoder never panics and bounds every length before allocating, so garbage from
//! the socket is an [`XdrError`], never a crash or a huge allocation.

use std::fmt;

/// Why a payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XdrError {
    /// The input ended before the item did.
    Truncated { wanted: usize, left: usize },
    /// A length or count above the protocol's maximum for that item.
    TooLong { len: u32, max: u32 },
    /// A string that is not UTF-8.
    BadUtf8,
    /// An optional marker or boolean that is neither 0 nor 1, or another bad value.
    BadValue(&'static str),
}

impl fmt::Display for XdrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XdrError::Truncated { wanted, left } => {
                write!(f, "truncated XDR: wanted {wanted} bytes, {left} left")
            }
            XdrError::TooLong { len, max } => {
                write!(f, "XDR length {len} exceeds the maximum {max}")
            }
            XdrError::BadUtf8 => f.write_str("XDR string is not UTF-8"),
            XdrError::BadValue(what) => write!(f, "bad XDR value: {what}"),
        }
    }
}

impl std::error::Error for XdrError {}

pub type XdrResult<T> = std::result::Result<T, XdrError>;

/// `REMOTE_STRING_MAX`: the longest string libvirt accepts on the wire.
pub const STRING_MAX: u32 = 4_194_304;

fn pad(len: usize) -> usize {
    (4 - len % 4) % 4
}

/// Appends XDR items to a byte buffer.
#[derive(Debug, Default, Clone)]
pub struct Encoder {
    pub buf: Vec<u8>,
}

impl Encoder {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn into_inner(self) -> Vec<u8> {
        self.buf
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// `bool` is an int 0/1.
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.i32(v as i32)
    }
    /// `opaque x[N]`: raw bytes plus padding, no length.
    pub fn fixed_opaque(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self.buf.extend(std::iter::repeat_n(0, pad(bytes.len())));
        self
    }
    /// `opaque x<N>`: length, bytes, padding.
    pub fn opaque(&mut self, bytes: &[u8]) -> &mut Self {
        self.u32(bytes.len() as u32);
        self.fixed_opaque(bytes)
    }
    /// `string x<N>`: length, bytes (no NUL), padding.
    pub fn string(&mut self, s: &str) -> &mut Self {
        self.opaque(s.as_bytes())
    }
    /// `string *x` (`remote_string`): 0 for NULL, else 1 and the string.
    pub fn opt_string(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            None => self.u32(0),
            Some(s) => self.u32(1).string(s),
        }
    }
    /// `char x[N]`: N four-byte ints, the text NUL-padded (or cut) to N.
    pub fn fixed_chars(&mut self, s: &str, n: usize) -> &mut Self {
        let bytes = s.as_bytes();
        for i in 0..n {
            let c = if i + 1 < n {
                bytes.get(i).copied().unwrap_or(0)
            } else {
                0
            };
            self.i32(c as i8 as i32);
        }
        self
    }
    /// `char x<N>`: count, then one four-byte int per char, counting a trailing NUL as
    /// libvirtd does (`strlen + 1`).
    pub fn var_chars(&mut self, s: &str) -> &mut Self {
        let bytes = s.as_bytes();
        self.u32(bytes.len() as u32 + 1);
        for &b in bytes {
            self.i32(b as i8 as i32);
        }
        self.i32(0)
    }
}

/// Reads XDR items from a byte slice.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Decoder { data, pos: 0 }
    }
    /// Bytes not consumed yet.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }
    fn take(&mut self, n: usize) -> XdrResult<&'a [u8]> {
        if n > self.remaining() {
            return Err(XdrError::Truncated {
                wanted: n,
                left: self.remaining(),
            });
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub fn u32(&mut self) -> XdrResult<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn i32(&mut self) -> XdrResult<i32> {
        Ok(self.u32()? as i32)
    }
    pub fn u64(&mut self) -> XdrResult<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    pub fn i64(&mut self) -> XdrResult<i64> {
        Ok(self.u64()? as i64)
    }
    pub fn bool(&mut self) -> XdrResult<bool> {
        match self.i32()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(XdrError::BadValue("bool is neither 0 nor 1")),
        }
    }
    pub fn fixed_opaque(&mut self, n: usize) -> XdrResult<&'a [u8]> {
        let b = self.take(n)?;
        self.take(pad(n))?;
        Ok(b)
    }
    /// `opaque x<max>`.
    pub fn opaque(&mut self, max: u32) -> XdrResult<&'a [u8]> {
        let len = self.u32()?;
        if len > max {
            return Err(XdrError::TooLong { len, max });
        }
        self.fixed_opaque(len as usize)
    }
    /// `string x<STRING_MAX>`.
    pub fn string(&mut self) -> XdrResult<String> {
        let b = self.opaque(STRING_MAX)?;
        String::from_utf8(b.to_vec()).map_err(|_| XdrError::BadUtf8)
    }
    /// `string *x`.
    pub fn opt_string(&mut self) -> XdrResult<Option<String>> {
        if self.present()? {
            Ok(Some(self.string()?))
        } else {
            Ok(None)
        }
    }
    /// The marker of an optional (`T *x`).
    pub fn present(&mut self) -> XdrResult<bool> {
        match self.u32()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(XdrError::BadValue("optional marker is neither 0 nor 1")),
        }
    }
    /// The count of a variable array, bounded by `max` and by what is left (each
    /// element takes at least `min_elem` bytes), so a lying count cannot make us
    /// allocate.
    pub fn count(&mut self, max: u32, min_elem: usize) -> XdrResult<usize> {
        let n = self.u32()?;
        if n > max {
            return Err(XdrError::TooLong { len: n, max });
        }
        let need = (n as usize).saturating_mul(min_elem.max(1));
        if need > self.remaining() {
            return Err(XdrError::Truncated {
                wanted: need,
                left: self.remaining(),
            });
        }
        Ok(n as usize)
    }
    /// `char x[N]`: N four-byte ints → text up to the first NUL.
    pub fn fixed_chars(&mut self, n: usize) -> XdrResult<String> {
        if n.saturating_mul(4) > self.remaining() {
            return Err(XdrError::Truncated {
                wanted: n * 4,
                left: self.remaining(),
            });
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.i32()? as u8);
        }
        Ok(chars_to_string(out))
    }
    /// `char x<max>`: count, then four-byte ints → text up to the first NUL.
    pub fn var_chars(&mut self, max: u32) -> XdrResult<String> {
        let n = self.count(max, 4)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.i32()? as u8);
        }
        Ok(chars_to_string(out))
    }
}

fn chars_to_string(mut v: Vec<u8>) -> String {
    if let Some(i) = v.iter().position(|&c| c == 0) {
        v.truncate(i);
    }
    String::from_utf8_lossy(&v).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_is_padded_without_nul() {
        let mut e = Encoder::new();
        e.string("rpcdemo");
        assert_eq!(
            e.buf,
            [0, 0, 0, 7, b'r', b'p', b'c', b'd', b'e', b'm', b'o', 0]
        );
        let mut d = Decoder::new(&e.buf);
        assert_eq!(d.string().unwrap(), "rpcdemo");
        assert_eq!(d.remaining(), 0);
    }

    #[test]
    fn var_chars_counts_the_nul() {
        let mut e = Encoder::new();
        e.var_chars("none");
        assert_eq!(
            e.buf,
            [0, 0, 0, 5, 0, 0, 0, b'n', 0, 0, 0, b'o', 0, 0, 0, b'n', 0, 0, 0, b'e', 0, 0, 0, 0]
        );
        let mut e = Encoder::new();
        e.var_chars("");
        assert_eq!(e.buf, [0, 0, 0, 1, 0, 0, 0, 0]);
        let mut d = Decoder::new(&e.buf);
        assert_eq!(d.var_chars(4097).unwrap(), "");
    }

    #[test]
    fn fixed_chars_are_ints() {
        let mut e = Encoder::new();
        e.fixed_chars("x86_64", 32);
        assert_eq!(e.buf.len(), 128);
        assert_eq!(&e.buf[..8], &[0, 0, 0, 0x78, 0, 0, 0, 0x38]);
        let mut d = Decoder::new(&e.buf);
        assert_eq!(d.fixed_chars(32).unwrap(), "x86_64");
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(Decoder::new(&[0, 0, 0]).u32().is_err());
        // Length beyond the data.
        assert!(Decoder::new(&[0, 0, 0, 9, b'a']).string().is_err());
        // Length beyond the maximum.
        assert!(matches!(
            Decoder::new(&[0xff, 0xff, 0xff, 0xff]).string(),
            Err(XdrError::TooLong { .. })
        ));
        // Optional marker 2.
        assert!(Decoder::new(&[0, 0, 0, 2]).opt_string().is_err());
        // A huge count with no data behind it.
        assert!(Decoder::new(&[0, 0, 0x3f, 0xff]).count(16384, 4).is_err());
        // Invalid UTF-8.
        assert!(Decoder::new(&[0, 0, 0, 1, 0xff, 0, 0, 0]).string().is_err());
    }

    proptest::proptest! {
        #[test]
        fn decoder_never_panics(data: Vec<u8>) {
            let mut d = Decoder::new(&data);
            let _ = d.opt_string();
            let _ = d.var_chars(4097);
            let _ = d.fixed_chars(32);
            let _ = d.u64();
        }

        #[test]
        fn strings_round_trip(s: String) {
            let mut e = Encoder::new();
            e.string(&s).opt_string(Some(&s)).opt_string(None);
            let mut d = Decoder::new(&e.buf);
            proptest::prop_assert_eq!(d.string().unwrap(), s.clone());
            proptest::prop_assert_eq!(d.opt_string().unwrap(), Some(s));
            proptest::prop_assert_eq!(d.opt_string().unwrap(), None);
            proptest::prop_assert_eq!(d.remaining(), 0);
        }
    }
}
