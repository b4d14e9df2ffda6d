//! Safe uploads: a multipart body streamed to a temporary file under the
//! size limit, its type judged from the bytes, images decoded under limits
//! and thumbnailed, voice notes timed, then the file moved to an
//! unguessable, never-overwritten name and recorded.
//!
//! See `docs/uploads.md` for the limits and what each failure answers.

pub mod audio;
pub mod images;
pub mod names;
pub mod sniff;
pub mod storage;

use std::path::{Path, PathBuf};

use actix_multipart::{Multipart, MultipartError};
use actix_web::http::header;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;
use livechat_domain::{now_ms, UploadKind};
use livechat_store::models::UploadRow;
use tokio::io::AsyncWriteExt;

use crate::error::ApiError;
use crate::state::AppState;
use sniff::FileType;
use storage::Owned;

/// What a multipart body may carry beyond the file itself (boundaries,
/// part headers, a long file name): a Content-Length over the limit plus
/// this is refused before reading.
pub const MULTIPART_OVERHEAD: u64 = 64 * 1024;
/// Bytes of non-file fields read (and ignored) per request.
const MAX_OTHER_FIELDS: usize = 16 * 1024;
/// Longest voice note, with half a second of grace for encoder padding.
pub const MAX_VOICE_MS: u64 = 60_000;
const VOICE_GRACE_MS: u64 = 500;

/// Removes what a crash or a kill in the middle of an upload left in the
/// temporary folder (files older than an hour); run once at start-up.
pub fn sweep_stale_temp_files(media_dir: &Path) {
    storage::sweep_stale(media_dir, std::time::Duration::from_secs(3600));
}

/// Which detected file types an upload endpoint takes.
fn accepts(kind: UploadKind, t: FileType) -> bool {
    match kind {
        UploadKind::Image => t.is_image(),
        UploadKind::File => t.is_image() || t.is_document(),
        UploadKind::Voice => t.is_audio(),
    }
}

/// The types an upload endpoint takes, for the 415 answer.
fn allowed(kind: UploadKind) -> &'static str {
    match kind {
        UploadKind::Image => "jpeg, png, gif, webp",
        UploadKind::File => "jpeg, png, gif, webp, pdf, doc, docx, xls, xlsx, ppt, pptx, txt, zip",
        UploadKind::Voice => "webm, ogg, mp3, m4a",
    }
}

/// The body received: the temporary file and what the client called it.
struct Received {
    owned: Owned,
    path: PathBuf,
    size: u64,
    file_name: Option<String>,
}

fn multipart_error(e: MultipartError) -> ApiError {
    ApiError::BadRequest(format!("malformed multipart body: {e}"))
}

fn too_large(max: u64) -> ApiError {
    ApiError::PayloadTooLarge(format!("the file is over the limit of {max} bytes"))
}

/// Refuses at once a body whose declared length is over the limit, and a
/// body that is not `multipart/form-data`.
fn check_headers(req: &HttpRequest, max: u64) -> Result<(), ApiError> {
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        if len > max.saturating_add(MULTIPART_OVERHEAD) {
            return Err(too_large(max));
        }
    }
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.type_() == mime::MULTIPART && m.subtype() == mime::FORM_DATA);
    if !multipart {
        return Err(ApiError::BadRequest(
            "expected a multipart/form-data body with one file in the field `file`".into(),
        ));
    }
    Ok(())
}

/// Streams the one `file` part to a temporary file, stopping as soon as
/// the limit is passed; reads the rest of the body to make sure it is
/// well formed and carries no second file.
async fn receive(
    req: &HttpRequest,
    payload: web::Payload,
    media_dir: &Path,
    max: u64,
) -> Result<Received, ApiError> {
    let mut multipart = Multipart::new(req.headers(), payload);
    let mut received: Option<Received> = None;
    let mut other_bytes = 0usize;
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(multipart_error)?;
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.content_disposition().and_then(|cd| {
            cd.get_filename().map(str::to_string).or_else(|| {
                cd.get_filename_ext()
                    .map(|ext| String::from_utf8_lossy(&ext.value).into_owned())
            })
        });
        if name
            .chars()
            .any(|c| livechat_domain::text::is_forbidden_control(c) || matches!(c, '"' | '\\'))
        {
            return Err(ApiError::BadRequest(
                "a form field's name must not contain control characters, quotes or backslashes"
                    .into(),
            ));
        }
        if name != "file" && file_name.is_none() {
            // An ordinary form field: read and ignore, within a small budget.
            while let Some(chunk) = field.next().await {
                other_bytes += chunk.map_err(multipart_error)?.len();
                if other_bytes > MAX_OTHER_FIELDS {
                    return Err(ApiError::BadRequest(
                        "form fields other than `file` are too large".into(),
                    ));
                }
            }
            continue;
        }
        if received.is_some() {
            return Err(ApiError::BadRequest(
                "one file per request: the body carries a second file".into(),
            ));
        }
        if name != "file" {
            return Err(ApiError::BadRequest(format!(
                "the file must be sent in the multipart field `file`, not `{name}`"
            )));
        }
        let dir = storage::temp_dir(media_dir);
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(ApiError::internal)?;
        let path = storage::temp_path(media_dir);
        let mut owned = Owned::default();
        let mut out = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await
            .map_err(ApiError::internal)?;
        owned.push(path.clone());
        let mut size = 0u64;
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(multipart_error)?;
            size += chunk.len() as u64;
            if size > max {
                return Err(too_large(max));
            }
            out.write_all(&chunk).await.map_err(ApiError::internal)?;
        }
        out.flush().await.map_err(ApiError::internal)?;
        drop(out);
        received = Some(Received {
            owned,
            path,
            size,
            file_name,
        });
    }
    received.ok_or_else(|| {
        ApiError::BadRequest("the multipart body has no field `file` with a file".into())
    })
}

/// What the blocking step made of a received file.
struct Stored {
    owned: Owned,
    path: String,
    thumbnail_path: Option<String>,
    mime: &'static str,
    width: Option<i32>,
    height: Option<i32>,
    duration_ms: Option<i64>,
    display_name: String,
}

/// Judges, inspects and places a received file (blocking work).
fn store(
    kind: UploadKind,
    media_dir: &Path,
    temp: &Path,
    original_name: Option<&str>,
) -> Result<Stored, ApiError> {
    let detected = sniff::detect(temp).map_err(ApiError::internal)?;
    let file_type = detected.filter(|t| accepts(kind, *t)).ok_or_else(|| {
        ApiError::UnsupportedMediaType(format!(
            "this content is not an accepted {} type ({}), whatever its name or declared type",
            kind.as_str(),
            allowed(kind)
        ))
    })?;
    let image = if file_type.is_image() {
        Some(images::inspect(temp, file_type).map_err(|e| match e {
            images::ImageRefusal::TooLarge(m) => ApiError::Validation(m),
            images::ImageRefusal::Invalid(m) => ApiError::UnsupportedMediaType(m),
        })?)
    } else {
        None
    };
    let duration = if file_type.is_audio() {
        let ms = audio::inspect(temp, file_type).map_err(|e| match e {
            audio::AudioError::NotAudio(m) => {
                ApiError::UnsupportedMediaType(format!("not a valid voice note: {m}"))
            }
            audio::AudioError::Io(e) => {
                ApiError::UnsupportedMediaType(format!("not a valid voice note: unreadable ({e})"))
            }
        })?;
        if let Some(ms) = ms {
            if ms > MAX_VOICE_MS + VOICE_GRACE_MS {
                return Err(ApiError::Validation(format!(
                    "a voice note may last at most 60 s; this one lasts {:.1} s",
                    ms as f64 / 1000.0
                )));
            }
        }
        ms
    } else {
        None
    };

    let fallback = format!("{}.{}", kind.as_str(), file_type.ext());
    let display_name = names::display_name(original_name, &fallback);
    let stem = names::stored_stem(&display_name);
    let (dir, url_dir) = storage::day_folder(media_dir, chrono::Utc::now());
    let mut owned = Owned::default();
    let placed = storage::place(temp, &dir, &stem, file_type.ext()).map_err(ApiError::internal)?;
    owned.push(placed.path.clone());
    let mut thumbnail_path = None;
    let (mut width, mut height) = (None, None);
    if let Some(img) = image {
        let base = placed
            .name
            .rsplit_once('.')
            .map_or(placed.name.as_str(), |(b, _)| b);
        let thumb_name = format!("{base}_thumb.{}", img.thumbnail_ext);
        let thumb = dir.join(&thumb_name);
        storage::write_new(&thumb, &img.thumbnail).map_err(ApiError::internal)?;
        owned.push(thumb);
        thumbnail_path = Some(format!("{url_dir}/{thumb_name}"));
        width = i32::try_from(img.width).ok();
        height = i32::try_from(img.height).ok();
    }
    Ok(Stored {
        owned,
        path: format!("{url_dir}/{}", placed.name),
        thumbnail_path,
        mime: file_type.mime(),
        width,
        height,
        duration_ms: duration.and_then(|d| i64::try_from(d).ok()),
        display_name,
    })
}

/// Handles one upload request end to end; answers the recorded upload.
pub async fn handle(
    state: &AppState,
    user_id: &str,
    kind: UploadKind,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<UploadRow, ApiError> {
    let settings = state.settings.clone();
    check_headers(req, settings.max_file_size)?;
    let received = receive(req, payload, &settings.media_dir, settings.max_file_size).await?;
    if received.size == 0 {
        return Err(ApiError::Validation("the file is empty".into()));
    }
    // A few files are inspected (images decoded) at a time; the permit
    // goes with the blocking work, so it is held until that work ends even
    // if the client goes away.
    let permit = state
        .decode_slots
        .clone()
        .acquire_owned()
        .await
        .map_err(ApiError::internal)?;
    let media_dir = settings.media_dir.clone();
    let temp = received.path.clone();
    let original = received.file_name.clone();
    let stored = web::block(move || {
        let stored = store(kind, &media_dir, &temp, original.as_deref());
        drop(permit);
        stored
    })
    .await
    .map_err(ApiError::internal)??;
    // The stored files are deleted if recording fails; the temporary file
    // goes in every case.
    let temp_file = received.owned;
    let stored_files = stored.owned;
    let row = UploadRow {
        id: names::random_hex(16),
        user_id: user_id.to_string(),
        kind,
        path: stored.path,
        file_name: stored.display_name,
        file_size: i64::try_from(received.size).unwrap_or(i64::MAX),
        mime: stored.mime.into(),
        thumbnail_path: stored.thumbnail_path,
        width: stored.width,
        height: stored.height,
        duration_ms: stored.duration_ms,
        created_at: now_ms(),
    };
    let record = row.clone();
    state
        .db
        .write(move |c| livechat_store::uploads::insert(c, &record))
        .await?;
    stored_files.keep();
    // The temporary file is removed as `temp_file` drops.
    drop(temp_file);
    Ok(row)
}
