//! Byte ranges: `Range: bytes=...` requests and 206 answers (RFC 9110, 14).
//!
//! A browser seeking in a video, or a download manager resuming a file, asks for part of it:
//! `Range: bytes=500-999` (bytes 500 to 999), `bytes=500-` (from 500 to the end) or
//! `bytes=-500` (the last 500). The server answers 206 with `Content-Range: bytes 500-999/LEN`
//! and just those bytes, or 416 with `Content-Range: bytes */LEN` if the range starts past
//! the end. A header it does not understand, or a request for several ranges, may simply be
//! ignored: the client then gets the whole file with 200, which is always correct.

/// What to do with a `Range` header, given the file's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeAnswer {
    /// Send the whole file (no usable range was asked for).
    Whole,
    /// Send bytes `start..=end` with 206.
    Partial {
        /// First byte, counted from 0.
        start: u64,
        /// Last byte, inclusive.
        end: u64,
    },
    /// The range lies outside the file: 416.
    NotSatisfiable,
}

/// Decides how to answer a `Range` header value for a file of `len` bytes.
///
/// ```
/// use weblab::http::{answer_range, RangeAnswer};
/// assert_eq!(answer_range("bytes=0-99", 1000), RangeAnswer::Partial { start: 0, end: 99 });
/// assert_eq!(answer_range("bytes=-100", 1000), RangeAnswer::Partial { start: 900, end: 999 });
/// assert_eq!(answer_range("bytes=900-5000", 1000), RangeAnswer::Partial { start: 900, end: 999 });
/// assert_eq!(answer_range("bytes=1000-", 1000), RangeAnswer::NotSatisfiable);
/// assert_eq!(answer_range("bytes=0-1,5-6", 1000), RangeAnswer::Whole);
/// assert_eq!(answer_range("lines=1-2", 1000), RangeAnswer::Whole);
/// ```
pub fn answer_range(value: &str, len: u64) -> RangeAnswer {
    let Some((unit, spec)) = value.split_once('=') else {
        return RangeAnswer::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return RangeAnswer::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAnswer::Whole;
    };
    match (parse_number(first), parse_number(last)) {
        // bytes=-n: the last n bytes.
        (None, Some(suffix)) if first.is_empty() => match (suffix, len) {
            (0, _) | (_, 0) => RangeAnswer::NotSatisfiable,
            _ => RangeAnswer::Partial {
                start: len - suffix.min(len),
                end: len - 1,
            },
        },
        // bytes=a-: from a to the end.
        (Some(start), None) if last.is_empty() => partial(start, u64::MAX, len),
        // bytes=a-b
        (Some(start), Some(end)) if start <= end => partial(start, end, len),
        _ => RangeAnswer::Whole,
    }
}

fn partial(start: u64, end: u64, len: u64) -> RangeAnswer {
    if start >= len {
        return RangeAnswer::NotSatisfiable;
    }
    RangeAnswer::Partial {
        start,
        end: end.min(len - 1),
    }
}

fn parse_number(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_positions_get_the_whole_file() {
        for value in [
            "bytes=x-5",
            "bytes=5-x",
            "bytes=-",
            "bytes=5",
            "bytes=1-2-3",
            "bytes=+1-2",
        ] {
            assert_eq!(answer_range(value, 100), RangeAnswer::Whole, "{value}");
        }
    }

    #[test]
    fn an_empty_file_satisfies_no_range() {
        assert_eq!(answer_range("bytes=-5", 0), RangeAnswer::NotSatisfiable);
        assert_eq!(answer_range("bytes=0-", 0), RangeAnswer::NotSatisfiable);
    }

    #[test]
    fn the_last_byte_is_a_range_of_one() {
        let last = RangeAnswer::Partial { start: 99, end: 99 };
        assert_eq!(answer_range("bytes=99-", 100), last);
        assert_eq!(answer_range("bytes=-1", 100), last);
        assert_eq!(answer_range("bytes=99-99", 100), last);
    }
}
