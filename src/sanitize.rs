//! Text from a meter, a capture or a config file, made safe to print.

use std::borrow::Cow;

/// Characters that would let a peer steer the terminal: C0 and C1 controls
/// (ESC starts ANSI and OSC sequences), DEL, and the bidirectional overrides
/// that make text display in an order other than it is stored; also the
/// line and paragraph separators (a line break to some readers and none to
/// others), the byte order mark and the tag characters, which hide text.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{E0000}'..='\u{E007F}'
        )
}

/// Replaces every unsafe character with U+FFFD, so the reader sees that something was there.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if text.chars().any(is_unsafe) {
        Cow::Owned(
            text.chars()
                .map(|c| if is_unsafe(c) { '\u{FFFD}' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_neutralised() {
        assert_eq!(
            for_terminal("IA\x1b]0;pwned\x07"),
            "IA\u{FFFD}]0;pwned\u{FFFD}"
        );
        assert_eq!(for_terminal("\u{202E}gnp.exe"), "\u{FFFD}gnp.exe");
        assert_eq!(for_terminal("a\u{9b}31m"), "a\u{FFFD}31m");
        assert_eq!(
            for_terminal("L1\u{2028}L2\u{feff}\u{e0041}"),
            "L1\u{FFFD}L2\u{FFFD}\u{FFFD}"
        );
    }

    #[test]
    fn ordinary_names_pass_unchanged() {
        assert!(matches!(for_terminal("Реле Отказ 光纤"), Cow::Borrowed(_)));
    }
}
