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

    /// Whether `template` is the shape of `path` (`count` segments).
    fn fits(template: &[Segment], path: &str, count: usize) -> bool {
        template.len() == count
            && template.iter().zip(segments(path)).all(|(t, a)| match t {
                Segment::Fixed(f) => f == a,
                Segment::Param => !a.is_empty(),
            })
    }

    /// The methods (uppercase, sorted) some documented route answers on
    /// `path`, or `None` when no documented route has that path.
    pub fn allowed(&self, path: &str) -> Option<Vec<String>> {
        let count = segments(path).count();
        let mut methods: Vec<String> = self
            .0
            .iter()
            .filter(|(template, _)| Self::fits(template, path, count))
            .flat_map(|(_, methods)| methods.iter().map(|m| m.to_ascii_uppercase()))
            .collect();
        if methods.is_empty() {
            return None;
        }
        methods.sort();
        methods.dedup();
        Some(methods)
    }

    /// The methods to list in a 405 when `method` is not one that a
    /// documented route of `path` answers; `None` when it is, or when no
    /// documented route has that path. Allocates nothing unless it refuses
    /// (it runs on every request).
    pub fn refusal(&self, path: &str, method: &str) -> Option<Vec<String>> {
        let count = segments(path).count();
        let mut known = false;
        for (template, methods) in &self.0 {
            if Self::fits(template, path, count) {
                if methods.iter().any(|m| m.eq_ignore_ascii_case(method)) {
                    return None;
                }
                known = true;
            }
        }
        if known {
            self.allowed(path)
        } else {
            None
        }
    }
}

/// Answers 405 (`method_not_allowed`, with `Allow`) for a documented path
/// asked with a method none of its routes answers. CORS preflights are
/// answered before this, by the CORS layer outside it.
pub async fn method_not_allowed(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let refused = req
        .app_data::<web::Data<KnownPaths>>()
        .and_then(|known| known.refusal(req.path(), req.method().as_str()));
    if let Some(allowed) = refused {
        let list = allowed.join(", ");
        let error = ApiError::MethodNotAllowed(format!(
            "{} is not allowed on {}; allowed: {list}",
            req.method(),
            req.path()
        ));
        let mut res = error.error_response();
        if let Ok(value) = HeaderValue::from_str(&list) {
            res.headers_mut().insert(ALLOW, value);
        }
        return Ok(req.into_response(res).map_into_right_body());
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
        assert_eq!(known.refusal("/api/users/b1", "PATCH"), None);
        assert_eq!(known.refusal("/api/users/", "get"), None);
        assert_eq!(
            known.refusal("/api/users/b1", "DELETE").unwrap(),
            ["GET", "PATCH"]
        );
        assert_eq!(known.refusal("/api/nothing", "DELETE"), None);
        assert_eq!(known.allowed("/api/users//"), None);
    }
}
