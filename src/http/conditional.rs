//! Validators and conditional requests: `ETag`, `Last-Modified`, `If-None-Match`,
//! `If-Modified-Since` and `If-Range` (RFC 9110, 8.8 and 13).
//!
//! A browser that already has a copy of a file asks "send it only if it changed". The server
//! compares the copy's validator with the file's and answers 304 Not Modified, with no body,
//! when they match: the page loads from cache and the file is not sent again.

use std::time::{SystemTime, UNIX_EPOCH};

use super::date::parse_http_date;

/// The validators of one version of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validators {
    /// A strong entity tag built from the length and modification time, e.g. `"1a2b-5f3c.0"`.
    pub etag: String,
    /// The modification time, if it can be written as an HTTP date.
    pub last_modified: Option<SystemTime>,
}

impl Validators {
    /// Validators for a file of `len` bytes last changed at `modified`.
    pub fn new(len: u64, modified: Option<SystemTime>) -> Validators {
        let since_epoch = modified.and_then(|m| m.duration_since(UNIX_EPOCH).ok());
        let etag = match since_epoch {
            Some(t) => format!("\"{len:x}-{:x}.{:x}\"", t.as_secs(), t.subsec_nanos()),
            None => format!("\"{len:x}\""),
        };
        // HTTP dates have whole seconds; drop the fraction so comparisons line up.
        let last_modified =
            since_epoch.map(|t| UNIX_EPOCH + std::time::Duration::from_secs(t.as_secs()));
        Validators {
            etag,
            last_modified,
        }
    }

    /// Whether a GET or HEAD with these request headers should get 304 (RFC 9110, 13.2.2):
    /// `If-None-Match` decides when present (weak comparison); otherwise `If-Modified-Since`
    /// does, and a date that does not parse is ignored.
    pub fn not_modified(
        &self,
        if_none_match: Option<&str>,
        if_modified_since: Option<&str>,
    ) -> bool {
        if let Some(tags) = if_none_match {
            return tags
                .split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || weak_tag(tag) == weak_tag(&self.etag));
        }
        match (
            if_modified_since.and_then(parse_http_date),
            self.last_modified,
        ) {
            (Some(since), Some(modified)) => modified <= since,
            _ => false,
        }
    }

    /// Whether a `Range` may be honoured given an `If-Range` value (RFC 9110, 13.1.5): only
    /// if the client's copy is this very version (strong tag or exact date).
    pub fn range_allowed(&self, if_range: Option<&str>) -> bool {
        match if_range.map(str::trim) {
            None => true,
            Some(tag) if tag.starts_with('"') => tag == self.etag,
            Some(tag) if tag.starts_with("W/") => false,
            Some(date) => {
                parse_http_date(date).is_some() && parse_http_date(date) == self.last_modified
            }
        }
    }
}

/// An entity tag without its weakness marker, for weak comparison.
fn weak_tag(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn file() -> Validators {
        Validators::new(
            1000,
            Some(UNIX_EPOCH + Duration::from_millis(1_700_000_000_500)),
        )
    }

    #[test]
    fn a_matching_tag_is_not_modified_even_weakly() {
        let v = file();
        assert!(v.not_modified(Some(&v.etag), None));
        assert!(v.not_modified(Some(&format!("\"x\", W/{}", v.etag)), None));
        assert!(v.not_modified(Some("*"), None));
        assert!(!v.not_modified(Some("\"other\""), None));
    }

    #[test]
    fn if_modified_since_is_ignored_when_if_none_match_is_there() {
        let v = file();
        let later = "Tue, 14 Nov 2023 22:13:21 GMT";
        assert!(v.not_modified(None, Some(later)));
        assert!(!v.not_modified(Some("\"other\""), Some(later)));
    }

    #[test]
    fn dates_compare_by_whole_seconds() {
        let v = file();
        assert!(v.not_modified(None, Some("Tue, 14 Nov 2023 22:13:20 GMT")));
        assert!(!v.not_modified(None, Some("Tue, 14 Nov 2023 22:13:19 GMT")));
        assert!(!v.not_modified(None, Some("not a date")));
    }

    #[test]
    fn if_range_needs_the_exact_version() {
        let v = file();
        assert!(v.range_allowed(None));
        assert!(v.range_allowed(Some(&v.etag)));
        assert!(!v.range_allowed(Some(&format!("W/{}", v.etag))));
        assert!(!v.range_allowed(Some("\"old\"")));
        assert!(v.range_allowed(Some("Tue, 14 Nov 2023 22:13:20 GMT")));
        assert!(!v.range_allowed(Some("Tue, 14 Nov 2023 22:13:21 GMT")));
    }
}
