//! JSON request bodies that must be objects. serde reads a struct from a
//! JSON array too (`[null, null]` fills the fields in order), which no
//! client means and the OpenAPI document does not allow: such a body is
//! 422 here, as every other ill-shaped body is.

use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::error::{json_error, ApiError};

/// A JSON object body read as `T` (the size limit, content type and error
/// answers of `web::Json`).
#[derive(Debug)]
pub struct Object<T>(pub T);

impl<T> Object<T> {
    /// The body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Object<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// `value` as `T`, if it is an object.
pub fn from_object<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::Validation(
            "invalid body: expected a JSON object".into(),
        ));
    }
    serde_json::from_value(value).map_err(json_error)
}

impl<T: DeserializeOwned + 'static> FromRequest for Object<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let value = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let value = value.await?.into_inner();
            Ok(Object(from_object(value)?))
        })
    }
}
