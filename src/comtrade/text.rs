//! Text encodings of cfg and hdr files.
//!
//! The 2013 revision says UTF-8, but files from older recorders carry names in
//! whatever code page the vendor's PC used: Latin-1 in Europe and the Americas,
//! cp1251 in the former Soviet Union, GBK in China.

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// How a text file was decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextEncoding(&'static Encoding);

impl TextEncoding {
    pub const UTF8: TextEncoding = TextEncoding(UTF_8);

    /// Looks up a WHATWG label such as `utf-8`, `latin1`, `cp1251` or `gbk`.
    pub fn for_label(label: &str) -> Option<TextEncoding> {
        Encoding::for_label(label.trim().as_bytes()).map(TextEncoding)
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// Decodes `bytes`; characters the encoding cannot map become U+FFFD.
    pub fn decode(self, bytes: &[u8]) -> String {
        let (text, _, _) = self.0.decode(bytes);
        text.into_owned()
    }

    /// UTF-8 when the bytes are valid UTF-8; otherwise the encoding the
    /// detector finds most likely, as long as it decodes the bytes cleanly;
    /// otherwise Windows-1252, which maps every byte and so never fails.
    pub fn detect(bytes: &[u8]) -> TextEncoding {
        if std::str::from_utf8(bytes).is_ok() {
            return TextEncoding::UTF8;
        }
        let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
        detector.feed(bytes, true);
        let guess = detector.guess(None, chardetng::Utf8Detection::Deny);
        let (_, _, had_errors) = guess.decode(bytes);
        if had_errors {
            TextEncoding(WINDOWS_1252)
        } else {
            TextEncoding(guess)
        }
    }
}

/// Removes the DOS end-of-file markers (0x1A) that some recorders append,
/// with the blank space and NULs around them.
pub fn strip_eof_markers(bytes: &[u8]) -> &[u8] {
    let mut end = bytes.len();
    while end > 0 && matches!(bytes[end - 1], 0x1A | b'\r' | b'\n' | b' ' | b'\t' | 0) {
        end -= 1;
    }
    &bytes[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_taken_first() {
        assert_eq!(
            TextEncoding::detect("Estação".as_bytes()),
            TextEncoding::UTF8
        );
    }

    #[test]
    fn latin1_names_decode() {
        let bytes = b"Esta\xe7\xe3o de Medi\xe7\xe3o,Oscil\xf3grafo,2013";
        let enc = TextEncoding::detect(bytes);
        assert_eq!(enc.decode(bytes), "Estação de Medição,Oscilógrafo,2013");
    }

    #[test]
    fn cp1251_names_decode() {
        let text = "Реле Отказ,Неиспр. ТН пуск,АЧР пуск 3 оч.";
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(text);
        assert_eq!(TextEncoding::detect(&bytes).decode(&bytes), text);
    }

    #[test]
    fn gbk_names_decode() {
        let text = "光纤通道一告警,主CPU异常,距离保护";
        let (bytes, _, _) = encoding_rs::GBK.encode(text);
        assert_eq!(TextEncoding::detect(&bytes).decode(&bytes), text);
    }

    #[test]
    fn override_label_is_honoured() {
        let enc = TextEncoding::for_label("cp1251").map(TextEncoding::name);
        assert_eq!(enc, Some("windows-1251"));
        assert!(TextEncoding::for_label("no-such-code-page").is_none());
    }

    #[test]
    fn eof_markers_are_stripped() {
        assert_eq!(strip_eof_markers(b"B,3\x1a\x1a\x1a"), b"B,3");
        assert_eq!(strip_eof_markers(b"\x1a"), b"");
    }
}
