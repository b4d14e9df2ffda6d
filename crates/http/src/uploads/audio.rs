//! Voice notes: checks that a candidate is really audio of its container
//! and reads its duration without decoding it.
//!
//! - Ogg: the first page's Opus or Vorbis header, then the last page's
//!   granule position (minus Opus pre-skip) over the sample rate.
//! - MP3: every frame header is walked (exact for CBR and VBR).
//! - WebM: the Segment Info Duration; MediaRecorder files often have none,
//!   so the last block's timecode is used instead.
//! - M4A (MP4 audio): `mvhd` duration over its timescale, or `mehd` for a
//!   fragmented file.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::sniff::FileType;

/// What is wrong with a candidate.
#[derive(Debug)]
pub enum AudioError {
    /// Not audio of the type its first bytes claim (answers 415).
    NotAudio(String),
    /// Reading failed.
    Io(io::Error),
}

impl From<io::Error> for AudioError {
    fn from(e: io::Error) -> Self {
        AudioError::Io(e)
    }
}

fn not_audio(what: &str) -> AudioError {
    AudioError::NotAudio(what.to_string())
}

/// Checks the file and answers its duration in milliseconds, when the
/// container tells it.
pub fn inspect(path: &Path, kind: FileType) -> Result<Option<u64>, AudioError> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    match kind {
        FileType::Ogg => ogg(&mut file, len).map(Some),
        FileType::Mp3 => mp3(&mut file, len).map(Some),
        FileType::Webm => webm(&mut file, len),
        FileType::M4a => mp4(&mut file, len),
        _ => Err(not_audio("not an audio type")),
    }
}

fn read_at(file: &mut File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::with_capacity(len);
    file.take(len as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

fn le_u32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

fn be_u32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

fn be_u64(b: &[u8], i: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(i..i + 8)?.try_into().ok()?))
}

// ---------------------------------------------------------------- Ogg

fn ogg(file: &mut File, len: u64) -> Result<u64, AudioError> {
    let head = read_at(file, 0, 27 + 255 + 64)?;
    if !head.starts_with(b"OggS") || head.len() < 27 || head[5] & 0x02 == 0 {
        return Err(not_audio("not an Ogg stream"));
    }
    let serial = le_u32(&head, 14).ok_or_else(|| not_audio("short Ogg page"))?;
    let segments = usize::from(head[26]);
    let packet = head
        .get(27 + segments..)
        .ok_or_else(|| not_audio("short Ogg page"))?;
    let (rate, pre_skip) = if packet.starts_with(b"OpusHead") && packet.len() >= 19 {
        (
            48_000u64,
            u64::from(u16::from_le_bytes([packet[10], packet[11]])),
        )
    } else if packet.starts_with(b"\x01vorbis") && packet.len() >= 16 {
        let rate = le_u32(packet, 12).unwrap_or(0);
        (u64::from(rate), 0)
    } else {
        return Err(not_audio("Ogg without Opus or Vorbis audio"));
    };
    if rate == 0 {
        return Err(not_audio("Ogg audio without a sample rate"));
    }
    // The last page of this stream with a granule position: pages are at
    // most 65,307 bytes, so it starts within the tail.
    let tail_len = len.min(128 * 1024);
    let tail = read_at(file, len - tail_len, tail_len as usize)?;
    let mut granule = None;
    let mut i = 0;
    while i + 27 <= tail.len() {
        if tail[i..].starts_with(b"OggS") && tail[i + 4] == 0 {
            let g = u64::from_le_bytes(tail[i + 6..i + 14].try_into().unwrap_or([0xFF; 8]));
            if le_u32(&tail, i + 14) == Some(serial) && g != u64::MAX {
                granule = Some(g);
            }
            i += 27;
        } else {
            i += 1;
        }
    }
    let granule = granule.ok_or_else(|| not_audio("Ogg stream without a granule position"))?;
    Ok(granule.saturating_sub(pre_skip) * 1000 / rate)
}

// ---------------------------------------------------------------- MP3

/// One MPEG audio frame header: (frame length in bytes, samples, sample rate).
fn mp3_frame(h: [u8; 4]) -> Option<(u64, u64, u64)> {
    if h[0] != 0xFF || h[1] & 0xE0 != 0xE0 {
        return None;
    }
    let version = (h[1] >> 3) & 0x03; // 0: MPEG 2.5, 2: MPEG 2, 3: MPEG 1
    let layer = (h[1] >> 1) & 0x03; // 1: III, 2: II, 3: I
    let bitrate_index = usize::from(h[2] >> 4);
    let rate_index = usize::from((h[2] >> 2) & 0x03);
    let padding = u64::from((h[2] >> 1) & 0x01);
    if version == 1 || layer == 0 || bitrate_index == 0 || bitrate_index == 15 || rate_index == 3 {
        return None;
    }
    const V1_L1: [u64; 15] = [
        0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
    ];
    const V1_L2: [u64; 15] = [
        0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
    ];
    const V1_L3: [u64; 15] = [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ];
    const V2_L1: [u64; 15] = [
        0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
    ];
    const V2_L23: [u64; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    let mpeg1 = version == 3;
    let kbps = match (mpeg1, layer) {
        (true, 3) => V1_L1,
        (true, 2) => V1_L2,
        (true, _) => V1_L3,
        (false, 3) => V2_L1,
        (false, _) => V2_L23,
    }[bitrate_index];
    let rate = [44_100u64, 48_000, 32_000][rate_index]
        >> match version {
            3 => 0,
            2 => 1,
            _ => 2,
        };
    let samples = match (layer, mpeg1) {
        (3, _) => 384,
        (2, _) | (1, true) => 1152,
        _ => 576,
    };
    let bits = kbps * 1000;
    let length = if layer == 3 {
        (12 * bits / rate + padding) * 4
    } else {
        samples / 8 * bits / rate + padding
    };
    Some((length, samples, rate))
}

fn mp3(file: &mut File, len: u64) -> Result<u64, AudioError> {
    let mut start = 0u64;
    let head = read_at(file, 0, 10)?;
    if head.starts_with(b"ID3") && head.len() == 10 {
        // A syncsafe size, plus a footer when flagged.
        let size = head[6..10]
            .iter()
            .fold(0u64, |acc, b| (acc << 7) | u64::from(b & 0x7F));
        start = 10 + size + if head[5] & 0x10 != 0 { 10 } else { 0 };
    }
    let mut reader = BufReader::new(&mut *file);
    reader.seek(SeekFrom::Start(start))?;
    let (mut pos, mut frames, mut micros) = (start, 0u64, 0u64);
    while pos + 4 <= len {
        let mut h = [0u8; 4];
        reader.read_exact(&mut h)?;
        let Some((length, samples, rate)) = mp3_frame(h) else {
            break;
        };
        if length < 4 {
            break;
        }
        frames += 1;
        micros += samples * 1_000_000 / rate;
        pos += length;
        reader.seek_relative(length as i64 - 4)?;
    }
    if frames < 2 {
        return Err(not_audio("no MPEG audio frames"));
    }
    Ok(micros / 1000)
}

// ---------------------------------------------------------------- WebM

const EBML: u32 = 0x1A45_DFA3;
const DOC_TYPE: u32 = 0x4282;
const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const TIMECODE_SCALE: u32 = 0x2A_D7B1;
const DURATION: u32 = 0x4489;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_TYPE: u32 = 0x83;
const CLUSTER: u32 = 0x1F43_B675;
const CLUSTER_TIMECODE: u32 = 0xE7;
const BLOCK_GROUP: u32 = 0xA0;
const BLOCK: u32 = 0xA1;
const SIMPLE_BLOCK: u32 = 0xA3;

/// Reads an EBML element id (marker bits kept).
fn ebml_id(r: &mut impl Read) -> io::Result<Option<(u32, u64)>> {
    let mut first = [0u8; 1];
    if r.read(&mut first)? == 0 {
        return Ok(None);
    }
    let width = first[0].leading_zeros() + 1;
    if width > 4 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "bad EBML id"));
    }
    let mut id = u32::from(first[0]);
    for _ in 1..width {
        let mut b = [0u8; 1];
        r.read_exact(&mut b)?;
        id = (id << 8) | u32::from(b[0]);
    }
    Ok(Some((id, u64::from(width))))
}

/// Reads an EBML size; `None` for "unknown" (all ones).
fn ebml_size(r: &mut impl Read) -> io::Result<(Option<u64>, u64)> {
    let mut first = [0u8; 1];
    r.read_exact(&mut first)?;
    let width = first[0].leading_zeros() + 1;
    if width > 8 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "bad EBML size"));
    }
    let mut value = u64::from(first[0]) & (0xFF >> width);
    let mut all_ones = value == (0xFF >> width);
    for _ in 1..width {
        let mut b = [0u8; 1];
        r.read_exact(&mut b)?;
        all_ones &= b[0] == 0xFF;
        value = (value << 8) | u64::from(b[0]);
    }
    Ok((if all_ones { None } else { Some(value) }, u64::from(width)))
}

fn uint(b: &[u8]) -> u64 {
    b.iter()
        .take(8)
        .fold(0, |acc, x| (acc << 8) | u64::from(*x))
}

/// The children of an element body held in memory: (id, body).
fn children(mut body: &[u8]) -> Vec<(u32, &[u8])> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let Ok(Some((id, _))) = ebml_id(&mut body) else {
            break;
        };
        let Ok((Some(size), _)) = ebml_size(&mut body) else {
            break;
        };
        let size = usize::try_from(size).unwrap_or(usize::MAX).min(body.len());
        out.push((id, &body[..size]));
        body = &body[size..];
    }
    out
}

fn webm(file: &mut File, len: u64) -> Result<Option<u64>, AudioError> {
    let mut r = BufReader::new(&mut *file);
    let mut pos = 0u64;
    let mut doc_type_ok = false;
    let (mut audio, mut video) = (0, 0);
    let mut scale = 1_000_000u64;
    let mut duration: Option<f64> = None;
    let (mut cluster_tc, mut last_tc) = (0u64, None::<u64>);
    let mut steps = 0u32;
    while pos < len && steps < 2_000_000 {
        steps += 1;
        let Ok(Some((id, id_width))) = ebml_id(&mut r) else {
            break;
        };
        let Ok((size, size_width)) = ebml_size(&mut r) else {
            break;
        };
        pos += id_width + size_width;
        if steps == 1 && id != EBML {
            return Err(not_audio("not an EBML file"));
        }
        // Containers whose children are read in the same loop (a live
        // recording's Segment and Clusters have unknown sizes).
        if matches!(id, SEGMENT | CLUSTER | BLOCK_GROUP) {
            continue;
        }
        let Some(size) = size else {
            break;
        };
        let small = |limit: u64| size <= limit;
        match id {
            EBML | INFO | TRACKS | CLUSTER_TIMECODE if small(1 << 20) => {
                let mut body = vec![0u8; size as usize];
                if r.read_exact(&mut body).is_err() {
                    break;
                }
                match id {
                    EBML => {
                        doc_type_ok = children(&body)
                            .iter()
                            .any(|(i, b)| *i == DOC_TYPE && *b == b"webm");
                    }
                    INFO => {
                        for (i, b) in children(&body) {
                            match (i, b.len()) {
                                (TIMECODE_SCALE, _) => scale = uint(b).max(1),
                                (DURATION, 4) => {
                                    duration = Some(f64::from(f32::from_be_bytes(
                                        b.try_into().unwrap_or([0; 4]),
                                    )))
                                }
                                (DURATION, 8) => {
                                    duration =
                                        Some(f64::from_be_bytes(b.try_into().unwrap_or([0; 8])))
                                }
                                _ => {}
                            }
                        }
                    }
                    TRACKS => {
                        for (i, entry) in children(&body) {
                            if i != TRACK_ENTRY {
                                continue;
                            }
                            for (j, b) in children(entry) {
                                if j == TRACK_TYPE {
                                    match uint(b) {
                                        1 => video += 1,
                                        2 => audio += 1,
                                        _ => {}
                                    }
                                }
                            }
                        }
                    }
                    _ => cluster_tc = uint(&body),
                }
                pos += size;
            }
            SIMPLE_BLOCK | BLOCK if size >= 4 => {
                // Track number (a vint), then a signed 16-bit relative timecode.
                let Ok((_, w)) = ebml_size(&mut r) else {
                    break;
                };
                let mut tc = [0u8; 2];
                if r.read_exact(&mut tc).is_err() {
                    break;
                }
                let rel = i64::from(i16::from_be_bytes(tc));
                let at = cluster_tc.saturating_add_signed(rel);
                last_tc = Some(last_tc.map_or(at, |l| l.max(at)));
                let rest = size.saturating_sub(w + 2);
                if r.seek_relative(rest as i64).is_err() {
                    break;
                }
                pos += size;
            }
            _ => {
                if r.seek_relative(size.min(i64::MAX as u64) as i64).is_err() {
                    break;
                }
                pos = pos.saturating_add(size);
            }
        }
    }
    if !doc_type_ok {
        return Err(not_audio("not a WebM file"));
    }
    if audio == 0 || video > 0 {
        return Err(not_audio("a voice note must be WebM with audio only"));
    }
    let ms = |units: f64| (units * scale as f64 / 1_000_000.0).round() as u64;
    Ok(match (duration, last_tc) {
        (Some(d), _) if d > 0.0 && d.is_finite() => Some(ms(d)),
        (_, Some(tc)) => Some(ms(tc as f64)),
        _ => None,
    })
}

// ---------------------------------------------------------------- MP4

/// Walks the boxes of a body in memory: (type, content).
fn boxes(mut body: &[u8]) -> Vec<([u8; 4], &[u8])> {
    let mut out = Vec::new();
    while body.len() >= 8 {
        let size = u64::from(be_u32(body, 0).unwrap_or(0));
        let kind: [u8; 4] = body[4..8].try_into().unwrap_or([0; 4]);
        let (header, size) = match size {
            0 => (8, body.len() as u64),
            1 => (16, be_u64(body, 8).unwrap_or(0)),
            s => (8, s),
        };
        if size < header as u64 || size > body.len() as u64 {
            break;
        }
        out.push((kind, &body[header..size as usize]));
        body = &body[size as usize..];
    }
    out
}

fn mp4(file: &mut File, len: u64) -> Result<Option<u64>, AudioError> {
    let mut pos = 0u64;
    let mut moov = None;
    let mut first = true;
    while pos + 8 <= len {
        let h = read_at(file, pos, 16)?;
        let size = u64::from(be_u32(&h, 0).unwrap_or(0));
        let kind = &h[4..8];
        let (header, size) = match size {
            0 => (8, len - pos),
            1 => (16, be_u64(&h, 8).unwrap_or(0)),
            s => (8, s),
        };
        if first && kind != b"ftyp" {
            return Err(not_audio("not an MP4 file"));
        }
        first = false;
        if size < header || pos + size > len {
            break;
        }
        if kind == b"moov" {
            if size > 16 << 20 {
                return Err(not_audio("MP4 header too large"));
            }
            moov = Some(read_at(file, pos + header, (size - header) as usize)?);
            break;
        }
        pos += size;
    }
    let moov = moov.ok_or_else(|| not_audio("MP4 without a movie header"))?;
    let (mut timescale, mut duration, mut fragments) = (0u64, 0u64, 0u64);
    let (mut audio, mut video) = (0, 0);
    for (kind, body) in boxes(&moov) {
        match &kind {
            b"mvhd" => {
                let v1 = body.first() == Some(&1);
                if v1 {
                    timescale = u64::from(be_u32(body, 20).unwrap_or(0));
                    duration = be_u64(body, 24).unwrap_or(0);
                } else {
                    timescale = u64::from(be_u32(body, 12).unwrap_or(0));
                    duration = u64::from(be_u32(body, 16).unwrap_or(0));
                }
            }
            b"trak" => {
                for (k, mdia) in boxes(body) {
                    if &k != b"mdia" {
                        continue;
                    }
                    for (k, hdlr) in boxes(mdia) {
                        if &k == b"hdlr" {
                            match hdlr.get(8..12) {
                                Some(b"soun") => audio += 1,
                                Some(b"vide") => video += 1,
                                _ => {}
                            }
                        }
                    }
                }
            }
            b"mvex" => {
                for (k, mehd) in boxes(body) {
                    if &k == b"mehd" {
                        fragments = if mehd.first() == Some(&1) {
                            be_u64(mehd, 4).unwrap_or(0)
                        } else {
                            u64::from(be_u32(mehd, 4).unwrap_or(0))
                        };
                    }
                }
            }
            _ => {}
        }
    }
    if audio == 0 || video > 0 {
        return Err(not_audio("a voice note must be MP4 with audio only"));
    }
    if timescale == 0 {
        return Ok(None);
    }
    let units = match (duration, fragments) {
        (d, _) if d > 0 && d != u64::from(u32::MAX) && d != u64::MAX => d,
        (_, f) if f > 0 => f,
        _ => return Ok(None),
    };
    Ok(Some(units.saturating_mul(1000) / timescale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mp3_frame_sizes() {
        // MPEG-1 Layer III, 128 kbit/s, 48 kHz, no padding: 384 bytes, 24 ms.
        assert_eq!(
            mp3_frame([0xFF, 0xFB, 0x94, 0x00]),
            Some((384, 1152, 48_000))
        );
        // 44.1 kHz with padding: 418 bytes.
        assert_eq!(
            mp3_frame([0xFF, 0xFB, 0x92, 0x00]),
            Some((418, 1152, 44_100))
        );
        assert_eq!(mp3_frame([0xFF, 0xFB, 0xF0, 0x00]), None);
        assert_eq!(mp3_frame([0x00, 0xFB, 0x90, 0x00]), None);
    }

    #[test]
    fn ebml_sizes() {
        assert_eq!(ebml_size(&mut &[0x81u8][..]).unwrap(), (Some(1), 1));
        assert_eq!(ebml_size(&mut &[0x40u8, 0x02][..]).unwrap(), (Some(2), 2));
        assert_eq!(ebml_size(&mut &[0xFFu8][..]).unwrap(), (None, 1));
        assert_eq!(
            ebml_size(&mut &[0x01u8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF][..]).unwrap(),
            (None, 8)
        );
    }
}
