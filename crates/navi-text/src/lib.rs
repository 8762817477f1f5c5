//! `navi-text`: the one check for every name people read (an org, key, MCP server or model name):
//! 1 to N characters after trimming, no control characters, and none of the characters that
//! change how text displays without being seen.
//!
//! ```
//! use navi_text::name_problem;
//!
//! assert_eq!(name_problem("  gpt-4o ", 100), None);
//! assert_eq!(
//!     name_problem("pay\u{202E}lap", 100).as_deref(),
//!     Some("no invisible or direction-changing characters (U+202E)")
//! );
//! ```
//!
//! It has no dependencies, so both `navi-tenancy` (display names) and `navi-analytics` (model
//! names, in its build without a database) use it. It does not normalise, case-fold or judge
//! confusable letters.
#![warn(missing_docs)]

/// Whether `c` changes how text displays without being seen:
/// - the bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069);
/// - the invisible characters (U+00AD, U+200B, U+2060–U+2064, U+FEFF), and those that render as
///   nothing or as blank space without being spaces: the combining grapheme joiner (U+034F), the
///   Hangul fillers (U+115F, U+1160, U+3164, U+FFA0), the Mongolian vowel separator (U+180E),
///   the deprecated format characters (U+206A–U+206F), the interlinear annotation characters
///   (U+FFF9–U+FFFB) and the blank Braille pattern (U+2800);
/// - the line and paragraph separators (U+2028, U+2029), which break a name over lines;
/// - the tag characters (U+E0000–U+E007F).
///
/// ZWNJ and ZWJ (U+200C, U+200D) are not among them: Persian and Indic names and emoji need
/// them; nor are the variation selectors, which pick an emoji's or an ideograph's form.
pub fn is_deceptive(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{00AD}'
            | '\u{200B}'
            | '\u{2060}'..='\u{2064}'
            | '\u{FEFF}'
            | '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{3164}'
            | '\u{FFA0}'
            | '\u{180E}'
            | '\u{206A}'..='\u{206F}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{2800}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// What is wrong with a name people read (an org, key, MCP server or model name, and every later
/// one), if anything: after trimming, 1 to `max_chars` characters, no control characters and no
/// [deceptive](is_deceptive) ones. The text completes a message that starts with the field.
pub fn name_problem(name: &str, max_chars: usize) -> Option<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > max_chars || name.chars().any(char::is_control) {
        return Some(format!(
            "1 to {max_chars} characters, no control characters"
        ));
    }
    name.chars().find(|&c| is_deceptive(c)).map(|c| {
        format!(
            "no invisible or direction-changing characters (U+{:04X})",
            u32::from(c)
        )
    })
}
