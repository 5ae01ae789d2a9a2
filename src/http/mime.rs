//! Content types from file extensions (RFC 9110, 8.3).

use std::path::Path;

/// The `Content-Type` to send for a file, chosen by its extension (case-insensitive).
/// Text types say `charset=utf-8`; anything unknown is `application/octet-stream`, which
/// tells a browser to download rather than guess.
///
/// ```
/// use std::path::Path;
/// use weblab::http::content_type_for;
/// assert_eq!(content_type_for(Path::new("a/INDEX.HTML")), "text/html; charset=utf-8");
/// assert_eq!(content_type_for(Path::new("notes")), "application/octet-stream");
/// ```
pub fn content_type_for(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match extension.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "xml" => "application/xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "pdf" => "application/pdf",
        "wasm" => "application/wasm",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_extension_has_its_type() {
        let cases = [
            ("htm", "text/html; charset=utf-8"),
            ("mjs", "text/javascript; charset=utf-8"),
            ("md", "text/markdown; charset=utf-8"),
            ("csv", "text/csv; charset=utf-8"),
            ("xml", "application/xml"),
            ("webp", "image/webp"),
            ("avif", "image/avif"),
            ("woff", "font/woff"),
            ("woff2", "font/woff2"),
            ("mp4", "video/mp4"),
            ("webm", "video/webm"),
            ("mp3", "audio/mpeg"),
            ("zip", "application/zip"),
        ];
        for (extension, expected) in cases {
            let name = format!("file.{extension}");
            assert_eq!(content_type_for(Path::new(&name)), expected, "{name}");
        }
    }

    #[test]
    fn a_dotfile_without_extension_is_just_bytes() {
        assert_eq!(
            content_type_for(Path::new(".hidden")),
            "application/octet-stream"
        );
    }
}
