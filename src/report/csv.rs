//! CSV fields as every command writes them, safe to print and to open in a
//! spreadsheet.
//!
//! Text from a meter or a capture is shown with its control and bidi
//! characters replaced (as on the terminal), and text that a spreadsheet
//! would run as a formula is made inert as OWASP recommends: a leading single
//! quote, inside a quoted field.

use std::borrow::Cow;

use crate::sanitize::for_terminal;

/// First characters that make a spreadsheet read a cell as a formula; a
/// plain number such as `-50` is only a number.
fn starts_a_formula(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
        && !text.parse::<f64>().is_ok_and(f64::is_finite)
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// A field holding text from outside: a name, a string register.
pub fn text(text: &str) -> Cow<'_, str> {
    let shown = for_terminal(text);
    if starts_a_formula(text) {
        Cow::Owned(quoted(&format!("'{shown}")))
    } else {
        plain_cow(shown)
    }
}

/// A field this program formatted itself (a time, a list of numbers): only
/// quoted where CSV needs it.
pub fn plain(text: &str) -> Cow<'_, str> {
    plain_cow(for_terminal(text))
}

fn plain_cow(shown: Cow<'_, str>) -> Cow<'_, str> {
    if shown.contains([',', '"']) {
        Cow::Owned(quoted(&shown))
    } else {
        shown
    }
}

/// A number; empty when it is not finite (a missing value). Negative zero,
/// which a meter's float registers can hold, is written as 0.
pub fn number(value: f64) -> String {
    if value.is_finite() {
        format!("{}", value + 0.0)
    } else {
        String::new()
    }
}

/// One CSV line built field by field.
#[derive(Debug, Default)]
pub struct Row {
    line: String,
    fields: usize,
}

impl Row {
    pub fn new() -> Row {
        Row::default()
    }

    fn push(&mut self, field: &str) -> &mut Row {
        if self.fields > 0 {
            self.line.push(',');
        }
        self.line.push_str(field);
        self.fields += 1;
        self
    }

    pub fn text(&mut self, value: &str) -> &mut Row {
        self.push(&text(value))
    }

    pub fn plain(&mut self, value: &str) -> &mut Row {
        self.push(&plain(value))
    }

    pub fn number(&mut self, value: f64) -> &mut Row {
        self.push(&number(value))
    }

    /// A number that may be absent (an empty field).
    pub fn maybe(&mut self, value: Option<f64>) -> &mut Row {
        self.push(&value.map_or(String::new(), number))
    }

    /// An integer or a flag: nothing to escape.
    pub fn value(&mut self, value: impl std::fmt::Display) -> &mut Row {
        self.push(&value.to_string())
    }

    /// A field already made by [`text`], [`plain`] or [`number`].
    pub fn field(&mut self, field: &str) -> &mut Row {
        self.push(field)
    }

    /// The line, with its line break.
    pub fn line(&self) -> String {
        format!("{}\n", self.line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_text_is_made_inert() {
        assert_eq!(text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(text("+1+1"), "\"'+1+1\"");
        assert_eq!(text("-2+3"), "\"'-2+3\"");
        assert_eq!(text("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(text("\tcmd"), "\"'\u{FFFD}cmd\"");
        assert_eq!(text("\r=1"), "\"'\u{FFFD}=1\"");
        assert_eq!(text("IA"), "IA");
        assert_eq!(text("a=b"), "a=b");
        assert_eq!(text("-50"), "-50");
        assert_eq!(text("-inf"), "\"'-inf\"");
    }

    #[test]
    fn controls_are_replaced_and_separators_quoted() {
        assert_eq!(text("V\x1b[2J,A"), "\"V\u{FFFD}[2J,A\"");
        assert_eq!(
            text("I\u{9b}1m\u{202e}x\ny"),
            "I\u{FFFD}1m\u{FFFD}x\u{FFFD}y"
        );
        assert_eq!(plain("1 2 3"), "1 2 3");
    }

    #[test]
    fn numbers_stay_numbers() {
        assert_eq!(number(-50.5), "-50.5");
        assert_eq!(number(f64::NAN), "");
        assert_eq!(number(f64::INFINITY), "");
        let mut row = Row::new();
        row.number(-1.0).text("-1+A1").maybe(None).value(true);
        assert_eq!(row.line(), "-1,\"'-1+A1\",,true\n");
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: 512,
            rng_seed: proptest::test_runner::RngSeed::Fixed(8),
            failure_persistence: None,
            ..proptest::test_runner::Config::default()
        })]
        #[test]
        fn any_text_is_one_inert_field(text in "\\PC*|[\\x00-\\x{9f}\\x{202e}=+@,\"a-]{0,40}") {
            let field = text_field_of(&text);
            proptest::prop_assert!(!field.chars().any(crate::sanitize::is_unsafe));
            // Unquoted, a field has no separator or quote; quoted, only doubled quotes.
            match field.strip_prefix('"').and_then(|f| f.strip_suffix('"')) {
                Some(inner) => {
                    proptest::prop_assert!(!inner.replace("\"\"", "").contains('"'));
                    if starts_a_formula(&text) {
                        proptest::prop_assert!(inner.starts_with('\''));
                    }
                }
                None => {
                    proptest::prop_assert!(!field.contains([',', '"']));
                    proptest::prop_assert!(!starts_a_formula(&field));
                }
            }
        }
    }

    fn text_field_of(value: &str) -> String {
        text(value).into_owned()
    }
}
