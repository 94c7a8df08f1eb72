//! JSON as every command prints it: text from a meter or a capture cannot
//! steer the terminal it is printed on.
//!
//! serde_json escapes only what JSON requires (C0 controls, the quote and the
//! backslash); DEL, the C1 controls (U+009B alone starts a CSI on many
//! terminals) and the bidirectional overrides would pass through as they are.
//! Here they are written as `\uXXXX` too, which any JSON reader turns back into
//! the same characters.

use std::io;

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter, Serializer};

use crate::sanitize::is_unsafe;

/// Wraps a formatter so that every unsafe character in a string is escaped.
pub struct InertText<F>(pub F);

impl<F: Formatter> Formatter for InertText<F> {
    fn write_string_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        let mut start = 0;
        for (at, c) in fragment.char_indices() {
            if is_unsafe(c) {
                writer.write_all(&fragment.as_bytes()[start..at])?;
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
                start = at + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    // The layout is the wrapped formatter's.
    fn begin_array<W>(&mut self, writer: &mut W) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.0.begin_array(writer)
    }

    fn end_array<W>(&mut self, writer: &mut W) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.0.end_array(writer)
    }

    fn begin_array_value<W>(&mut self, writer: &mut W, first: bool) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.0.begin_array_value(writer, first)
    }

    fn end_array_value<W>(&mut self, writer: &mut W) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.0.end_array_value(writer)
    }

    fn begin_object<W>(&mut self, writer: &mut W) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.0.begin_object(writer)
    }

    fn end_object<W>(&mut self, writer: &mut W) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.0.end_object(writer)
    }

    fn begin_object_key<W>(&mut self, writer: &mut W, first: bool) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.0.begin_object_key(writer, first)
    }

    fn end_object_key<W>(&mut self, writer: &mut W) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.0.end_object_key(writer)
    }

    fn begin_object_value<W>(&mut self, writer: &mut W) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.0.begin_object_value(writer)
    }

    fn end_object_value<W>(&mut self, writer: &mut W) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.0.end_object_value(writer)
    }
}

fn render<T, F>(value: &T, formatter: F) -> serde_json::Result<String>
where
    T: Serialize + ?Sized,
    F: Formatter,
{
    let mut bytes = Vec::with_capacity(256);
    let mut serializer = Serializer::with_formatter(&mut bytes, InertText(formatter));
    value.serialize(&mut serializer)?;
    // Only whole UTF-8 fragments and ASCII escapes were written.
    String::from_utf8(bytes).map_err(serde::ser::Error::custom)
}

/// One line of JSON, as `poll --json` prints per poll.
pub fn to_line<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    render(value, CompactFormatter)
}

/// Indented JSON, as `info --json` and `analyze --json` print.
pub fn to_pretty<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    render(value, PrettyFormatter::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn controls_and_overrides_are_escaped() {
        let text = "A\x1b]52;c;cHduZWQ=\x07\x1b[2J\u{9b}31m\u{7f}\u{202e}gnp\u{2066}";
        let line = to_line(&json!({ "name\u{85}": text })).unwrap();
        assert_eq!(
            line,
            r#"{"name\u0085":"A\u001b]52;c;cHduZWQ=\u0007\u001b[2J\u009b31m\u007f\u202egnp\u2066"}"#
        );
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["name\u{85}"], text);
    }

    #[test]
    fn pretty_layout_is_kept() {
        let value = json!({ "a": [1, "Реле 光纤"], "b": null });
        assert_eq!(
            to_pretty(&value).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
        assert!(line_has_no_raw_unsafe(&to_line(&value).unwrap()));
    }

    fn line_has_no_raw_unsafe(text: &str) -> bool {
        !text.chars().any(is_unsafe)
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: 512,
            rng_seed: proptest::test_runner::RngSeed::Fixed(8),
            failure_persistence: None,
            ..proptest::test_runner::Config::default()
        })]
        #[test]
        fn any_text_comes_out_inert_and_reads_back(text in "\\PC*|[\\x00-\\x{9f}\\x{2066}-\\x{2069}\\x{202a}-\\x{202e}a]{0,40}") {
            let value = json!({ "name": text, "list": [text.clone()] });
            for out in [to_line(&value).unwrap(), to_pretty(&value).unwrap()] {
                proptest::prop_assert!(!out.chars().any(|c| is_unsafe(c) && c != '\n'));
                let back: serde_json::Value = serde_json::from_str(&out).unwrap();
                proptest::prop_assert_eq!(&back, &value);
            }
        }
    }
}
