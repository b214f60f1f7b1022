//! The front end's built files (`web/dist`), served next to the API by `run --web-dir`.
//!
//! The app routes in the URL's fragment, so `/` and the hashed files under `/assets/` are all there is: anything
//! else is the API's JSON 404. The policy headers keep the page to its own scripts and styles and to reading this
//! server; a wallet extension talks to its own node, not through the page's connections.

use std::{convert::Infallible, path::Path};

use axum::{
    Router,
    extract::Request,
    http::{HeaderValue, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use tower::service_fn;
use tower_http::services::ServeDir;

use super::ApiError;

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/// The static files of `dir`, with caching and security headers.
pub(super) fn files(dir: &Path) -> Router {
    let not_found = service_fn(|_: Request| async {
        Ok::<_, Infallible>(
            ApiError::NotFound("no such file or endpoint: see /openapi.json".to_owned()).into_response(),
        )
    });
    Router::new()
        .fallback_service(ServeDir::new(dir).append_index_html_on_directories(true).not_found_service(not_found))
        .layer(middleware::from_fn(headers))
}

async fn headers(request: Request, next: Next) -> Response {
    // `//assets` would be redirected to `//assets/`, which a browser reads as another host.
    if request.uri().path().starts_with("//") {
        return ApiError::NotFound("no such file or endpoint: see /openapi.json".to_owned()).into_response();
    }
    let hashed = request.uri().path().starts_with("/assets/");
    let mut response = next.run(request).await;
    // Vite names every built asset by its content hash, so a found one never changes; the page itself may, and an
    // error must not be cached (a request for the next release's file before it ships would stick for a year).
    let cache = match response.status().is_success() {
        true if hashed => "public, max-age=31536000, immutable",
        true => "no-cache",
        false => "no-store",
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}
