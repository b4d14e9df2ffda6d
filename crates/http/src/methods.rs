//! A known path asked with a method it does not answer gets 405 with an
//! `Allow` header listing the ones it does (TRACE and OPTIONS included),
//! not the 404 of an unknown path. The paths and their methods are the
//! OpenAPI document's, so the two cannot disagree.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, ALLOW};
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};

use crate::error::ApiError;

/// One segment of a documented path: fixed text, or a `{parameter}`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Fixed(String),
    Param,
}

/// The documented paths, each with the methods it answers.
#[derive(Debug, Clone, Default)]
pub struct KnownPaths(Vec<(Vec<Segment>, Vec<&'static str>)>);

/// The segments of a path, trailing slash ignored (every API route answers
/// either form).
fn segments(path: &str) -> impl Iterator<Item = &str> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    path.split('/')
}

impl KnownPaths {
    /// The table of `(path template, lowercase methods)` pairs.
    pub fn new(paths: Vec<(String, Vec<&'static str>)>) -> Self {
        KnownPaths(
            paths
                .into_iter()
                .map(|(template, methods)| {
                    let segs = segments(&template)
                        .map(|s| {
                            if s.starts_with('{') && s.ends_with('}') {
                                Segment::Param
                            } else {
                                Segment::Fixed(s.to_string())
                            }
                        })
                        .collect();
                    (segs, methods)
                })
                .collect(),
        )
    }

    /// The methods (uppercase, sorted) some documented route answers on
    /// `path`, or `None` when no documented route has that path.
    pub fn allowed(&self, path: &str) -> Option<Vec<String>> {
        let asked: Vec<&str> = segments(path).collect();
        let mut methods: Vec<String> = self
            .0
            .iter()
            .filter(|(template, _)| {
                template.len() == asked.len()
                    && template.iter().zip(&asked).all(|(t, a)| match t {
                        Segment::Fixed(f) => f == a,
                        Segment::Param => !a.is_empty(),
                    })
            })
            .flat_map(|(_, methods)| methods.iter().map(|m| m.to_ascii_uppercase()))
            .collect();
        if methods.is_empty() {
            return None;
        }
        methods.sort();
        methods.dedup();
        Some(methods)
    }
}

/// Answers 405 (`method_not_allowed`, with `Allow`) for a documented path
/// asked with a method none of its routes answers. CORS preflights are
/// answered before this, by the CORS layer outside it.
pub async fn method_not_allowed(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let allowed = req
        .app_data::<web::Data<KnownPaths>>()
        .and_then(|known| known.allowed(req.path()));
    if let Some(allowed) = allowed {
        let method = req.method().as_str();
        if !allowed.iter().any(|m| m == method) {
            let list = allowed.join(", ");
            let error = ApiError::MethodNotAllowed(format!(
                "{method} is not allowed on {}; allowed: {list}",
                req.path()
            ));
            let mut res = error.error_response();
            if let Ok(value) = HeaderValue::from_str(&list) {
                res.headers_mut().insert(ALLOW, value);
            }
            return Ok(req.into_response(res).map_into_right_body());
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_matches_its_templates_in_either_slash_form() {
        let known = KnownPaths::new(vec![
            ("/api/users/".into(), vec!["get", "post"]),
            ("/api/users/{id}".into(), vec!["get", "patch"]),
            ("/api/admin/webhooks/{id}".into(), vec!["get", "delete"]),
            (
                "/api/admin/webhooks/deliveries/{delivery_id}/resend".into(),
                vec!["post"],
            ),
        ]);
        assert_eq!(known.allowed("/api/users").unwrap(), ["GET", "POST"]);
        assert_eq!(known.allowed("/api/users/").unwrap(), ["GET", "POST"]);
        assert_eq!(known.allowed("/api/users/b1").unwrap(), ["GET", "PATCH"]);
        assert_eq!(
            known
                .allowed("/api/admin/webhooks/deliveries/7/resend")
                .unwrap(),
            ["POST"]
        );
        assert_eq!(known.allowed("/api/users/b1/x"), None);
        assert_eq!(known.allowed("/api/nothing"), None);
        assert_eq!(known.allowed("/api/users//"), None);
    }
}
