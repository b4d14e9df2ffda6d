//! Judging a file's type from its bytes, never from its name or declared type.
//!
//! Magic numbers come from `infer`; containers that `infer` judges from the
//! first bytes only (OOXML zips, legacy OLE documents) are checked here from
//! their directories, and plain text is checked in full.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

/// Every type an upload may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Jpeg,
    Png,
    Gif,
    Webp,
    Pdf,
    Doc,
    Docx,
    Xls,
    Xlsx,
    Ppt,
    Pptx,
    Txt,
    Zip,
    Webm,
    Ogg,
    Mp3,
    M4a,
}

impl FileType {
    /// The MIME type recorded and answered.
    pub fn mime(self) -> &'static str {
        match self {
            FileType::Jpeg => "image/jpeg",
            FileType::Png => "image/png",
            FileType::Gif => "image/gif",
            FileType::Webp => "image/webp",
            FileType::Pdf => "application/pdf",
            FileType::Doc => "application/msword",
            FileType::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            FileType::Xls => "application/vnd.ms-excel",
            FileType::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            FileType::Ppt => "application/vnd.ms-powerpoint",
            FileType::Pptx => {
                "application/vnd.openxmlformats-officedocument.presentationml.presentation"
            }
            FileType::Txt => "text/plain",
            FileType::Zip => "application/zip",
            FileType::Webm => "audio/webm",
            FileType::Ogg => "audio/ogg",
            FileType::Mp3 => "audio/mpeg",
            FileType::M4a => "audio/mp4",
        }
    }

    /// The extension of the stored file. Audio WebM is stored as `.weba` so
    /// that `/media` serves it as `audio/webm` (`.webm` would be video).
    pub fn ext(self) -> &'static str {
        match self {
            FileType::Jpeg => "jpg",
            FileType::Png => "png",
            FileType::Gif => "gif",
            FileType::Webp => "webp",
            FileType::Pdf => "pdf",
            FileType::Doc => "doc",
            FileType::Docx => "docx",
            FileType::Xls => "xls",
            FileType::Xlsx => "xlsx",
            FileType::Ppt => "ppt",
            FileType::Pptx => "pptx",
            FileType::Txt => "txt",
            FileType::Zip => "zip",
            FileType::Webm => "weba",
            FileType::Ogg => "ogg",
            FileType::Mp3 => "mp3",
            FileType::M4a => "m4a",
        }
    }

    /// Whether this is one of the accepted image types.
    pub fn is_image(self) -> bool {
        matches!(
            self,
            FileType::Jpeg | FileType::Png | FileType::Gif | FileType::Webp
        )
    }

    /// Whether this is one of the accepted audio types.
    pub fn is_audio(self) -> bool {
        matches!(
            self,
            FileType::Webm | FileType::Ogg | FileType::Mp3 | FileType::M4a
        )
    }

    /// Whether this is one of the accepted document (file) types.
    pub fn is_document(self) -> bool {
        !self.is_image() && !self.is_audio()
    }
}

/// How much of the start of a file the magic-number checks look at.
const HEAD: usize = 8192;

/// Judges the type of the file at `path`; `None` when it is none of the
/// accepted types (HTML, SVG, scripts, executables, anything unknown).
pub fn detect(path: &Path) -> io::Result<Option<FileType>> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut head = Vec::with_capacity(HEAD);
    (&mut file).take(HEAD as u64).read_to_end(&mut head)?;

    if infer::image::is_jpeg(&head) {
        return Ok(Some(FileType::Jpeg));
    }
    if infer::image::is_png(&head) {
        return Ok(Some(FileType::Png));
    }
    if infer::image::is_gif(&head) {
        return Ok(Some(FileType::Gif));
    }
    if infer::image::is_webp(&head) {
        return Ok(Some(FileType::Webp));
    }
    if head.starts_with(b"%PDF-") {
        return Ok(Some(FileType::Pdf));
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return ole_kind(&mut file, len);
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return zip_kind(&mut file, len);
    }
    // Audio candidates: the audio module checks their structure.
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Ok(Some(FileType::Webm));
    }
    if head.starts_with(b"OggS") {
        return Ok(Some(FileType::Ogg));
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return Ok(Some(FileType::M4a));
    }
    if head.starts_with(b"ID3") || (head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0) {
        return Ok(Some(FileType::Mp3));
    }
    // Anything else with a known signature (executables, archives, media
    // of other kinds) is refused before the text check.
    if infer::get(&head).is_some() {
        return Ok(None);
    }
    file.seek(SeekFrom::Start(0))?;
    if is_plain_text(&mut file)? {
        return Ok(Some(FileType::Txt));
    }
    Ok(None)
}

/// Whether a file is plain UTF-8 text that no browser would treat as markup
/// or a script: valid UTF-8, no NUL, and not starting (after a BOM and
/// white space) with `<` (HTML, SVG, XML) or `#!` (a script).
pub fn is_plain_text(reader: &mut impl Read) -> io::Result<bool> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut carry: Vec<u8> = Vec::new();
    let mut first = true;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            // Bytes left over are an incomplete UTF-8 sequence.
            return Ok(carry.is_empty());
        }
        let mut chunk = std::mem::take(&mut carry);
        chunk.extend_from_slice(&buf[..n]);
        if chunk.contains(&0) {
            return Ok(false);
        }
        let valid = match std::str::from_utf8(&chunk) {
            Ok(s) => s,
            Err(e) if e.error_len().is_none() => {
                // A sequence cut at the end of the chunk: finish it next time.
                let (ok, rest) = chunk.split_at(e.valid_up_to());
                carry = rest.to_vec();
                std::str::from_utf8(ok).unwrap_or_default()
            }
            Err(_) => return Ok(false),
        };
        if first {
            first = false;
            let start = valid.trim_start_matches('\u{feff}').trim_start();
            if start.starts_with('<') || start.starts_with("#!") {
                return Ok(false);
            }
        }
    }
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], i: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?))
}

fn read_at(file: &mut File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::with_capacity(len);
    file.take(len as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// A zip's kind from its central directory: an Office Open XML document has
/// `[Content_Types].xml` and a `word/`, `xl/` or `ppt/` part; any other
/// well-formed zip is a zip. No central directory: not a zip.
fn zip_kind(file: &mut File, len: u64) -> io::Result<Option<FileType>> {
    let tail_len = len.min(22 + 65_535);
    let tail = read_at(file, len - tail_len, tail_len as usize)?;
    let Some(eocd) = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..].starts_with(b"PK\x05\x06"))
    else {
        return Ok(None);
    };
    let (Some(cd_size), Some(cd_offset)) = (u32_at(&tail, eocd + 12), u32_at(&tail, eocd + 16))
    else {
        return Ok(None);
    };
    let (mut cd_size, mut cd_offset) = (u64::from(cd_size), u64::from(cd_offset));
    if cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF {
        // Zip64: the locator sits just before the end record.
        let Some(locator) = eocd.checked_sub(20) else {
            return Ok(None);
        };
        if !tail[locator..].starts_with(b"PK\x06\x07") {
            return Ok(None);
        }
        let Some(record_offset) = u64_at(&tail, locator + 8) else {
            return Ok(None);
        };
        if record_offset >= len {
            return Ok(None);
        }
        let record = read_at(file, record_offset, 56)?;
        if !record.starts_with(b"PK\x06\x06") {
            return Ok(None);
        }
        match (u64_at(&record, 40), u64_at(&record, 48)) {
            (Some(s), Some(o)) => (cd_size, cd_offset) = (s, o),
            _ => return Ok(None),
        }
    }
    if !matches!(cd_offset.checked_add(cd_size), Some(end) if end <= len) || cd_size > 16 << 20 {
        return Ok(None);
    }
    let cd = read_at(file, cd_offset, cd_size as usize)?;
    let (mut content_types, mut word, mut xl, mut ppt) = (false, false, false, false);
    let mut i = 0;
    while i + 46 <= cd.len() {
        if !cd[i..].starts_with(b"PK\x01\x02") {
            return Ok(None);
        }
        let (Some(n), Some(m), Some(k)) = (
            u16_at(&cd, i + 28),
            u16_at(&cd, i + 30),
            u16_at(&cd, i + 32),
        ) else {
            return Ok(None);
        };
        let Some(name) = cd.get(i + 46..i + 46 + usize::from(n)) else {
            return Ok(None);
        };
        content_types |= name == b"[Content_Types].xml";
        word |= name.starts_with(b"word/");
        xl |= name.starts_with(b"xl/");
        ppt |= name.starts_with(b"ppt/");
        i += 46 + usize::from(n) + usize::from(m) + usize::from(k);
    }
    Ok(Some(match (content_types, word, xl, ppt) {
        (true, true, _, _) => FileType::Docx,
        (true, _, true, _) => FileType::Xlsx,
        (true, _, _, true) => FileType::Pptx,
        _ => FileType::Zip,
    }))
}

/// A legacy Office document's kind from its compound-file directory: the
/// root entry's class id (as `infer` checks) or the name of its main
/// stream. Any other compound file (an installer, say) is refused.
fn ole_kind(file: &mut File, len: u64) -> io::Result<Option<FileType>> {
    const WORD: [u8; 16] = clsid(0x0002_0906);
    const EXCEL5: [u8; 16] = clsid(0x0002_0810);
    const EXCEL8: [u8; 16] = clsid(0x0002_0820);
    const POWERPOINT: [u8; 16] = [
        0x10, 0x8d, 0x81, 0x64, 0x9b, 0x4f, 0xcf, 0x11, 0x86, 0xea, 0x00, 0xaa, 0x00, 0xb9, 0x29,
        0xe8,
    ];
    let header = read_at(file, 0, 512)?;
    let (Some(shift), Some(first_dir)) = (u16_at(&header, 0x1E), u32_at(&header, 0x30)) else {
        return Ok(None);
    };
    if shift != 9 && shift != 12 {
        return Ok(None);
    }
    let sector = 1u64 << shift;
    let per_fat = sector / 4;
    let mut next = first_dir;
    let mut visited = 0;
    let mut root = true;
    while next < 0xFFFF_FFFA && visited < 256 {
        visited += 1;
        let offset = (u64::from(next) + 1) * sector;
        if offset + sector > len {
            return Ok(None);
        }
        let dir = read_at(file, offset, sector as usize)?;
        for entry in dir.chunks_exact(128) {
            let name_len = usize::from(u16_at(entry, 0x40).unwrap_or(0)).min(64);
            let name: Vec<u16> = entry[..name_len.saturating_sub(2)]
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            let name = String::from_utf16_lossy(&name);
            if root {
                root = false;
                let id = &entry[0x50..0x60];
                if id == WORD {
                    return Ok(Some(FileType::Doc));
                }
                if id == EXCEL5 || id == EXCEL8 {
                    return Ok(Some(FileType::Xls));
                }
                if id == POWERPOINT {
                    return Ok(Some(FileType::Ppt));
                }
            }
            match name.as_str() {
                "WordDocument" => return Ok(Some(FileType::Doc)),
                "Workbook" | "Book" => return Ok(Some(FileType::Xls)),
                "PowerPoint Document" => return Ok(Some(FileType::Ppt)),
                _ => {}
            }
        }
        // The next directory sector, from the FAT (only the header's 109
        // FAT sectors are followed: enough for any file under the limit).
        let index = u64::from(next) / per_fat;
        let Some(fat_sector) = u32_at(&header, 0x4C + 4 * index as usize).filter(|_| index < 109)
        else {
            return Ok(None);
        };
        let at = (u64::from(fat_sector) + 1) * sector + (u64::from(next) % per_fat) * 4;
        if at + 4 > len {
            return Ok(None);
        }
        let bytes = read_at(file, at, 4)?;
        next = u32_at(&bytes, 0).unwrap_or(0xFFFF_FFFE);
    }
    Ok(None)
}

/// The bytes of a Microsoft class id `{XXXXXXXX-0000-0000-C000-000000000046}`.
const fn clsid(first: u32) -> [u8; 16] {
    let b = first.to_le_bytes();
    [
        b[0], b[1], b[2], b[3], 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &[u8]) -> bool {
        is_plain_text(&mut &s[..]).unwrap()
    }

    #[test]
    fn text_is_checked() {
        assert!(text("hello 你好\n".as_bytes()));
        assert!(text(b""));
        assert!(!text(b"  \n<html><script>alert(1)</script>"));
        assert!(!text("\u{feff}<svg/>".as_bytes()));
        assert!(!text(b"#!/bin/sh\nrm -rf /"));
        assert!(!text(b"abc\0def"));
        assert!(!text(b"\xff\xfe"));
        assert!(
            !text(b"ok \xe4\xbd"),
            "a cut sequence at the end is not text"
        );
    }

    #[test]
    fn clsid_bytes() {
        assert_eq!(
            clsid(0x0002_0906),
            [6, 9, 2, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46]
        );
    }
}
