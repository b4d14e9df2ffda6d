//! File names: the one shown (the original, made harmless) and the one
//! stored (sanitized, short, with an unguessable random part).

use rand::RngCore;

/// Longest displayed name, in characters.
pub const MAX_DISPLAY_CHARS: usize = 255;
/// Longest sanitized stem of a stored name, in characters.
pub const MAX_STEM_CHARS: usize = 50;

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Characters that change how text is displayed without being visible.
fn is_invisible_control(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The name to show: the original without any path, controls or direction
/// overrides, at most 255 characters; `fallback` when nothing is left.
pub fn display_name(original: Option<&str>, fallback: &str) -> String {
    let base = original
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !is_invisible_control(*c)).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        return fallback.to_string();
    }
    if cleaned.chars().count() <= MAX_DISPLAY_CHARS {
        return cleaned.to_string();
    }
    // Keep the extension visible when cutting.
    match cleaned.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.chars().count() <= 16 => {
            let keep = MAX_DISPLAY_CHARS - ext.chars().count() - 1;
            format!("{}.{ext}", stem.chars().take(keep).collect::<String>())
        }
        _ => cleaned.chars().take(MAX_DISPLAY_CHARS).collect(),
    }
}

/// The stem of a stored name: letters (any script, CJK included), digits,
/// `-` and `_`; everything else becomes `_`; at most 50 characters;
/// `file` when nothing is left. The extension is dropped: the stored one
/// comes from the detected type.
pub fn stored_stem(display: &str) -> String {
    let stem = match display.rsplit_once('.') {
        Some((s, _)) if !s.is_empty() => s,
        _ => display,
    };
    let mut out = String::new();
    for c in stem.chars() {
        let c = if c.is_alphanumeric() || c == '-' || c == '_' {
            c
        } else {
            '_'
        };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    let out: String = out.trim_matches('_').chars().take(MAX_STEM_CHARS).collect();
    let out = out.trim_end_matches('_');
    if out.is_empty() {
        "file".into()
    } else {
        out.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_lose_paths_and_controls() {
        assert_eq!(display_name(Some("../../etc/passwd"), "f"), "passwd");
        assert_eq!(display_name(Some("C:\\Users\\me\\a b.pdf"), "f"), "a b.pdf");
        assert_eq!(
            display_name(Some("evil\u{202E}fdp.exe"), "f"),
            "evilfdp.exe"
        );
        assert_eq!(display_name(Some(".."), "f"), "f");
        assert_eq!(display_name(None, "upload.png"), "upload.png");
        let long = format!("{}.pdf", "a".repeat(300));
        let shown = display_name(Some(&long), "f");
        assert_eq!(shown.chars().count(), 255);
        assert!(shown.ends_with(".pdf"));
    }

    #[test]
    fn stored_stems_are_safe() {
        assert_eq!(stored_stem("照片 2024.png"), "照片_2024");
        assert_eq!(stored_stem("../x.html"), "x");
        assert_eq!(stored_stem("a..b.c.d"), "a_b_c");
        assert_eq!(stored_stem("<script>.png"), "script");
        assert_eq!(stored_stem("....png"), "file");
        assert_eq!(stored_stem(&"x".repeat(300)).chars().count(), 50);
        assert_eq!(random_hex(8).len(), 16);
    }
}
