//! HTTP dates (RFC 9110, 5.6.7), written and read in one place: the `Date` and
//! `Last-Modified` the server sends, the `If-Modified-Since` and `If-Range` it reads, and
//! the access log's timestamps.
//!
//! An HTTP date is always in GMT and has whole seconds: `Tue, 24 Nov 2026 10:00:00 GMT`.

use std::time::SystemTime;

/// The first second an HTTP date cannot express: 10000-01-01T00:00:00Z, as seconds since
/// 1970 (the year has four digits).
const FIRST_SECOND_AFTER_9999: u64 = 253_402_300_800;

/// Formats a time as an HTTP date, e.g. `Tue, 24 Nov 2026 10:00:00 GMT`, dropping any
/// fraction of a second. Returns `None` for times HTTP dates cannot express (before 1970
/// or after 9999), such as a file's modification time on a clock set wrong.
pub fn format_http_date(time: SystemTime) -> Option<String> {
    let secs = time.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
    (secs < FIRST_SECOND_AFTER_9999).then(|| httpdate::fmt_http_date(time))
}

/// Reads an HTTP date in any of the three forms a recipient must accept (RFC 9110, 5.6.7:
/// the preferred one above, RFC 850's and asctime's), ignoring surrounding whitespace.
/// Returns `None` for anything else.
pub fn parse_http_date(text: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(text.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn absurd_times_have_no_http_date() {
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(FIRST_SECOND_AFTER_9999);
        assert_eq!(format_http_date(far), None);
        let last = far - Duration::from_secs(1);
        assert_eq!(
            format_http_date(last).as_deref(),
            Some("Fri, 31 Dec 9999 23:59:59 GMT")
        );
        let before_1970 = SystemTime::UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(format_http_date(before_1970), None);
    }

    #[test]
    fn a_date_reads_back_as_the_time_it_was_written_from() {
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let text = format_http_date(time + Duration::from_millis(999)).expect("a date");
        assert_eq!(text, "Tue, 14 Nov 2023 22:13:20 GMT");
        assert_eq!(parse_http_date(&format!(" {text}\t")), Some(time));
        assert_eq!(
            parse_http_date("Tuesday, 14-Nov-23 22:13:20 GMT"),
            Some(time)
        );
        assert_eq!(parse_http_date("Tue Nov 14 22:13:20 2023"), Some(time));
        assert_eq!(parse_http_date("yesterday"), None);
    }
}
