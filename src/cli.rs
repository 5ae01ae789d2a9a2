//! What the `server` and `client` commands share on their command lines: how a number of
//! seconds is read, and how a usage error becomes one line.
//!
//! The library never prints: these return values, and the binaries print them.

use std::time::Duration;

/// The shortest timeout a command accepts: 1 ms.
///
/// A socket timeout is a `Duration`, and `set_read_timeout(Some(Duration::ZERO))` is an
/// error, not "no wait": a value such as `1e-10` seconds would round to zero and break every
/// connection. Anything below a millisecond is a typing mistake, not a timeout.
pub const MIN_SECONDS: Duration = Duration::from_millis(1);

/// The longest timeout a command accepts: one day. Far beyond any sensible wait, and small
/// enough that adding it to the clock can never overflow.
pub const MAX_SECONDS: Duration = Duration::from_secs(86_400);

/// Reads a timeout given in seconds, such as `10`, `0.25` or `1e-3`, for a clap
/// `value_parser`. Refuses what is not a number, and anything outside
/// [`MIN_SECONDS`]..=[`MAX_SECONDS`] (zero, negative, NaN, infinity, `1e-10`), with a message
/// that fits on one line.
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds"))?;
    // Written so that NaN fails both comparisons and is refused.
    if !(secs >= MIN_SECONDS.as_secs_f64() && secs <= MAX_SECONDS.as_secs_f64()) {
        return Err(format!(
            "'{text}' must be at least 0.001 (1 ms) and at most 86400 seconds"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Shows a number of seconds the way a person typed it: `300 s`, `0.5 s`.
pub fn show_seconds(duration: Duration) -> String {
    format!("{} s", duration.as_secs_f64())
}

/// Turns clap's rendered complaint (several lines: the problem, maybe the arguments concerned,
/// a usage line, a pointer to `--help`) into one line: the problem and the arguments it names.
///
/// ```
/// let rendered = "error: the following required arguments were not provided:\n  <PATH>\n\n\
///                 Usage: client <HOST> <PORT> <PATH>\n\nFor more information, try '--help'.\n";
/// assert_eq!(
///     weblab::cli::usage_line(rendered),
///     "the following required arguments were not provided: <PATH>"
/// );
/// ```
pub fn usage_line(rendered: &str) -> String {
    let problem: Vec<&str> = rendered
        .lines()
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more"))
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("tip:"))
        .collect();
    let line = problem.join(" ");
    let line = line.strip_prefix("error: ").unwrap_or(&line);
    if line.is_empty() {
        "invalid arguments".to_string()
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_may_be_fractional_and_from_a_millisecond_to_a_day() {
        assert_eq!(parse_seconds("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_seconds("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_seconds("0.001"), Ok(Duration::from_millis(1)));
        assert_eq!(parse_seconds("1e-3"), Ok(Duration::from_millis(1)));
        assert_eq!(parse_seconds("86400"), Ok(Duration::from_secs(86_400)));
    }

    #[test]
    fn too_small_to_be_a_timeout_too_long_or_not_a_number_is_refused() {
        for text in [
            "0", "-0", "-1", "1e-10", "0.0009", "86400.5", "NaN", "inf", "-inf",
        ] {
            assert_eq!(
                parse_seconds(text),
                Err(format!(
                    "'{text}' must be at least 0.001 (1 ms) and at most 86400 seconds"
                )),
                "{text}"
            );
        }
        assert_eq!(
            parse_seconds("soon"),
            Err("'soon' is not a number of seconds".to_string())
        );
    }

    #[test]
    fn seconds_are_shown_as_typed() {
        assert_eq!(show_seconds(Duration::from_secs(300)), "300 s");
        assert_eq!(show_seconds(Duration::from_millis(1500)), "1.5 s");
    }

    #[test]
    fn a_one_line_complaint_stays_one_line() {
        let rendered = "error: invalid value '1e-10' for '--timeout <SECS>': '1e-10' must be \
                        at least 0.001 (1 ms) and at most 86400 seconds\n\nFor more information, \
                        try '--help'.\n";
        assert_eq!(
            usage_line(rendered),
            "invalid value '1e-10' for '--timeout <SECS>': '1e-10' must be at least 0.001 \
             (1 ms) and at most 86400 seconds"
        );
        let with_tip = "error: unexpected argument '--frob' found\n\n  tip: to pass '--frob' \
                        as a value, use '-- --frob'\n\nUsage: client [OPTIONS]\n";
        assert_eq!(usage_line(with_tip), "unexpected argument '--frob' found");
        assert_eq!(usage_line(""), "invalid arguments");
    }
}
