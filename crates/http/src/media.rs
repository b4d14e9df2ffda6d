//! `/media`: uploaded files, served safely.
//!
//! Names are unique and never overwritten, so responses are cacheable for a
//! year; `nosniff` stops a browser from guessing a type; anything that is not
//! an image or audio is sent as an attachment so it never renders inline.

use std::path::Path;

use actix_files::Files;
use actix_web::http::header::{
    DispositionType, HeaderValue, CACHE_CONTROL, X_CONTENT_TYPE_OPTIONS,
};
use actix_web::middleware::DefaultHeaders;
use actix_web::web;

/// The `/media` scope.
pub fn service(
    media_dir: &Path,
) -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let files = Files::new("/", media_dir)
        .use_etag(true)
        .use_last_modified(true)
        .prefer_utf8(true)
        .mime_override(|name| {
            if *name == mime::IMAGE || *name == mime::AUDIO {
                DispositionType::Inline
            } else {
                DispositionType::Attachment
            }
        });
    web::scope("/media")
        .wrap(
            DefaultHeaders::new()
                .add((X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
                .add((
                    CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ))
                .add((
                    "Content-Security-Policy",
                    HeaderValue::from_static("default-src 'none'; sandbox"),
                )),
        )
        .service(files)
}
