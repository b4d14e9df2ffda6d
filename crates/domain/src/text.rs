//! Rules every piece of free text obeys, whichever field it arrives in.
//!
//! NUL and the other control characters (but tab, line feed and carriage
//! return) are refused everywhere text is accepted: they have no meaning in
//! a chat, SQLite's full-text queries choke on NUL, and PostgreSQL refuses
//! it in text columns. A value made only of invisible characters
//! (zero-width spaces and joiners, direction marks and overrides, other
//! format characters) counts as empty where a value is required.

use crate::error::DomainError;

/// Whether `c` is a control character free text may not hold: C0 controls
/// other than tab, line feed and carriage return, DEL, and the C1 controls.
pub fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Checks that `value`, given as `field`, holds no NUL or other control
/// character (see [`is_forbidden_control`]).
pub fn check_plain(field: &str, value: &str) -> Result<(), DomainError> {
    match value.chars().find(|&c| is_forbidden_control(c)) {
        None => Ok(()),
        Some(c) => Err(DomainError::Validation(format!(
            "{field} must not contain NUL or other control characters (found U+{:04X})",
            u32::from(c)
        ))),
    }
}

/// Whether `c` draws nothing by itself: zero-width spaces and joiners,
/// direction marks, embeddings, overrides and isolates, and the other
/// format characters (Unicode category Cf), variation selectors and the
/// blank fillers some scripts have.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'                      // soft hyphen
            | '\u{034F}'                // combining grapheme joiner
            | '\u{061C}'                // Arabic letter mark
            | '\u{115F}' | '\u{1160}'   // Hangul fillers
            | '\u{17B4}' | '\u{17B5}'   // Khmer inherent vowels
            | '\u{180B}'..='\u{180F}'   // Mongolian selectors and vowel separator
            | '\u{200B}'..='\u{200F}'   // zero-width space, joiners, LRM, RLM
            | '\u{202A}'..='\u{202E}'   // embeddings and overrides
            | '\u{2060}'..='\u{206F}'   // word joiner, invisible operators, isolates
            | '\u{3164}'                // Hangul filler
            | '\u{FE00}'..='\u{FE0F}'   // variation selectors
            | '\u{FEFF}'                // zero-width no-break space (BOM)
            | '\u{FFA0}'                // halfwidth Hangul filler
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{FFF9}'..='\u{FFFB}'   // interlinear annotation
            | '\u{1BCA0}'..='\u{1BCA3}' // shorthand format controls
            | '\u{1D173}'..='\u{1D17A}' // musical format controls
            | '\u{E0000}'..='\u{E0FFF}' // tags and variation selectors supplement
    )
}

/// Whether `value` shows anything: a character that is neither white space
/// nor invisible (see [`is_invisible`]).
pub fn has_visible(value: &str) -> bool {
    value
        .chars()
        .any(|c| !c.is_whitespace() && !is_invisible(c) && !is_forbidden_control(c))
}

/// Trims a required piece of text given as `field`, refuses control
/// characters, and refuses it as empty when nothing of it is visible.
/// Length limits are the caller's.
pub fn required_text<'a>(field: &str, value: &'a str) -> Result<&'a str, DomainError> {
    check_plain(field, value)?;
    let trimmed = value.trim();
    if !has_visible(trimmed) {
        return Err(DomainError::Validation(format!(
            "{field} must not be empty"
        )));
    }
    Ok(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_controls_are_refused_naming_the_field() {
        for bad in ["ab\0", "\0", "a\u{7}b", "\u{1B}[31m", "x\u{7F}", "\u{85}"] {
            let err = check_plain("content", bad).unwrap_err().to_string();
            assert!(
                err.starts_with("content must not contain NUL"),
                "{bad:?}: {err}"
            );
        }
        assert!(check_plain("content", "ab\0")
            .unwrap_err()
            .to_string()
            .contains("U+0000"));
        for good in ["", "hello", "两行\n文字\r\n", "a\tb", "👩‍💻", "שלום world"] {
            assert!(check_plain("content", good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn invisible_only_text_counts_as_empty() {
        for blank in [
            "",
            "   ",
            "\u{200B}",
            "\u{200B}\u{200C}\u{200D}\u{2060}\u{FEFF}",
            " \u{202E}\u{202C} ",
            "\u{2066}\u{2069}\u{200E}\u{200F}\u{061C}",
            "\u{00AD}\u{3164}\u{115F}",
            "\u{E0041}\u{FE0F}",
        ] {
            assert!(!has_visible(blank), "{blank:?}");
            let err = required_text("content", blank).unwrap_err().to_string();
            assert_eq!(err, "content must not be empty", "{blank:?}");
        }
        for shown in ["a", "\u{200B}a", "你好", "👍", "❤\u{FE0F}", "\u{202E}abc"] {
            assert!(has_visible(shown), "{shown:?}");
        }
        assert_eq!(required_text("title", "  x  ").unwrap(), "x");
    }
}
