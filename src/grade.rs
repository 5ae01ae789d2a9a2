//! Grading: the rubric, the behaviours' outcomes, and the reports made of them.
//!
//! The behaviours are the tests of `tests/conformance.rs`. The `grade` command runs them
//! with `cargo test` against a student's program and hands libtest's output to
//! [`parse_libtest`]; [`score`] weighs each behaviour with its points from
//! `exercises/rubric.toml` ([`parse_rubric`]); [`rubric_report`] and [`gradescope_json`]
//! write the result for a person and for Gradescope. Everything here is plain text in,
//! plain text out, so it is tested without running anything.

use std::collections::HashMap;
use std::fmt::Write as _;

// ---------------------------------------------------------------------------------------
// The rubric

/// One part of the rubric: an exercise (or the private cases) and its behaviours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The exercise's number as the rubric writes it (`01`), or `private`.
    pub id: String,
    /// What the exercise builds, in a few words.
    pub title: String,
    /// Which task of the assignment it belongs to (`Task 1`, `Beyond`).
    pub task: String,
    /// The exercise's crate under `exercises/`; empty for a part with no crate.
    pub folder: String,
    /// `server` or `client`: which program its behaviours test.
    pub role: String,
    /// Each behaviour (a test of `tests/conformance.rs`) and its points.
    pub behaviours: Vec<(String, u32)>,
}

/// Reads the small subset of TOML the rubric uses: `[id]` sections of `key = value` lines.
pub fn parse_rubric(text: &str) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(id) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            parts.push(Part {
                id: id.to_string(),
                title: String::new(),
                task: String::new(),
                folder: String::new(),
                role: String::new(),
                behaviours: Vec::new(),
            });
            continue;
        }
        let (Some(part), Some((key, value))) = (parts.last_mut(), line.split_once('=')) else {
            continue;
        };
        let value = value.trim().trim_matches('"').to_string();
        match key.trim() {
            "title" => part.title = value,
            "task" => part.task = value,
            "folder" => part.folder = value,
            "role" => part.role = value,
            test => part
                .behaviours
                .push((test.to_string(), value.parse().unwrap_or(0))),
        }
    }
    parts
}

/// The part for an exercise number, written `1`, `01` or `ex01`.
pub fn find<'a>(rubric: &'a [Part], id: &str) -> Option<&'a Part> {
    let id = id.trim_start_matches("ex");
    rubric
        .iter()
        .find(|p| p.id == id || p.id == format!("{id:0>2}"))
}

/// A behaviour's name in words: `ex01_missing_file_gets_404` -> "missing file gets 404".
pub fn in_words(test: &str) -> String {
    let words = match test.split_once('_') {
        Some((prefix, rest)) if prefix.starts_with("ex") => rest,
        _ => test,
    };
    words.replace('_', " ")
}

// ---------------------------------------------------------------------------------------
// Outcomes

/// What happened to one behaviour; `output` explains a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Whether the behaviour held.
    pub passed: bool,
    /// For a failure: what was expected and what came back, as the test said it.
    pub output: String,
}

/// A behaviour, its points, and what happened to it.
pub type Scored = (String, u32, Outcome);
/// Each part of the rubric with its scored behaviours.
pub type Graded<'p> = Vec<(&'p Part, Vec<Scored>)>;

/// Each behaviour of `part` with its points and outcome; behaviours that did not run
/// (a build that failed, a test that is missing) fail with the reason.
pub fn score(part: &Part, results: &Result<HashMap<String, Outcome>, String>) -> Vec<Scored> {
    part.behaviours
        .iter()
        .map(|(test, points)| {
            let outcome = match results {
                Ok(outcomes) => outcomes.get(test).cloned().unwrap_or(Outcome {
                    passed: false,
                    output: "this behaviour did not run".into(),
                }),
                Err(why) => Outcome {
                    passed: false,
                    output: why.clone(),
                },
            };
            (test.clone(), *points, outcome)
        })
        .collect()
}

/// Reads libtest's plain output: `test NAME ... ok|FAILED` lines, then a `---- NAME stdout
/// ----` section for each failure, holding the panic message the harness wrote.
pub fn parse_libtest(stdout: &str) -> HashMap<String, Outcome> {
    let mut outcomes = HashMap::new();
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("test ") else {
            continue;
        };
        if let Some((name, verdict)) = rest.rsplit_once(" ... ") {
            let passed = match verdict.trim() {
                "ok" => true,
                "FAILED" => false,
                _ => continue,
            };
            let output = String::new();
            outcomes.insert(name.trim().to_string(), Outcome { passed, output });
        }
    }
    let mut current: Option<String> = None;
    for line in stdout.lines() {
        if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|l| l.strip_suffix(" stdout ----"))
        {
            current = Some(name.to_string());
            continue;
        }
        if line == "failures:" || line.starts_with("test result:") {
            current = None;
            continue;
        }
        // The test's own panic location says nothing to a student; the server's does.
        let noise = line.contains("panicked at tests/")
            || line.contains("panicked at tests\\")
            || line.starts_with("note: run with `RUST_BACKTRACE");
        if let (Some(name), false) = (&current, noise) {
            if let Some(outcome) = outcomes.get_mut(name) {
                outcome.output.push_str(line);
                outcome.output.push('\n');
            }
        }
    }
    for outcome in outcomes.values_mut() {
        outcome.output = outcome.output.trim().to_string();
    }
    outcomes
}

/// Every line of `text` with `by` in front.
pub fn indent(text: &str, by: &str) -> String {
    text.lines()
        .map(|line| format!("{by}{line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------
// Reports

/// The rubric as a student or instructor reads it: each part with its points, each
/// behaviour with what it earned, and the total.
pub fn rubric_report(graded: &Graded) -> String {
    let mut out = String::new();
    let (mut total, mut most) = (0, 0);
    for (part, outcomes) in graded {
        let max: u32 = outcomes.iter().map(|(_, points, _)| points).sum();
        let got: u32 = outcomes
            .iter()
            .filter(|(_, _, o)| o.passed)
            .map(|(_, points, _)| points)
            .sum();
        let heading = format!("{} · {} {}", part.task, part.id, part.title);
        let _ = writeln!(out, "{heading:<66} {got:>3}/{max}");
        for (test, points, outcome) in outcomes {
            let earned = if outcome.passed { *points } else { 0 };
            let _ = writeln!(out, "  [{earned}/{points}] {test}");
        }
        out.push('\n');
        total += got;
        most += max;
    }
    let _ = writeln!(out, "Total: {total}/{most}");
    out
}

/// The results in Gradescope's `results.json` shape: the score, and one test per behaviour
/// with its points, status and explanation.
pub fn gradescope_json(graded: &Graded) -> String {
    let mut tests = Vec::new();
    let mut total = 0;
    for (part, outcomes) in graded {
        for (index, (test, points, outcome)) in outcomes.iter().enumerate() {
            let score = if outcome.passed { *points } else { 0 };
            total += score;
            tests.push(format!(
                "    {{\"name\": {}, \"number\": {}, \"score\": {score}, \"max_score\": {points}, \
                 \"status\": \"{}\", \"output\": {}}}",
                json_string(test),
                json_string(&format!("{}.{}", part.id, index + 1)),
                if outcome.passed { "passed" } else { "failed" },
                json_string(&outcome.output)
            ));
        }
    }
    format!(
        "{{\n  \"score\": {total},\n  \"tests\": [\n{}\n  ]\n}}\n",
        tests.join(",\n")
    )
}

/// `text` as a JSON string literal, quotes included.
fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------------------------------
// Hints

/// Hint `number` (1 is the first) of exercise `id`, from the text of its `hints/NN.md`,
/// whose hints are its `## ` sections, followed by a line saying what comes next.
pub fn pick_hint(text: &str, id: &str, number: usize) -> Result<String, String> {
    let hints: Vec<&str> = text.split("\n## ").skip(1).collect();
    let Some(chosen) = number.checked_sub(1).and_then(|i| hints.get(i)) else {
        return Err(format!("exercise {id} has hints 1 to {}", hints.len()));
    };
    let next = match number < hints.len() {
        true => format!(
            "(hint {number} of {}; the next: make hint EX={id} N={})",
            hints.len(),
            number + 1
        ),
        false => "(the last hint; the solution is in exercises/solutions/)".to_string(),
    };
    Ok(format!("## {}\n\n{next}", chosen.trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUBRIC: &str = "\
# points per behaviour
stray = 1

[01]
title = \"The single-threaded server\"
task = \"Task 1\"
folder = \"01-single-threaded-server\"
role = \"server\"
# ex01_old_behaviour = 5 (a behaviour commented out)
ex01_missing_file_gets_404 = 3
ex01_slash_serves_index_html = 2

[02]
title = \"The client\"
task = \"Task 2\"
role = \"client\"
ex02_client_prints_a_404_response = two
";

    fn part(id: &str, behaviours: &[(&str, u32)]) -> Part {
        Part {
            id: id.into(),
            title: "The server".into(),
            task: "Task 1".into(),
            folder: String::new(),
            role: "server".into(),
            behaviours: behaviours.iter().map(|&(t, p)| (t.into(), p)).collect(),
        }
    }

    fn outcome(passed: bool, output: &str) -> Outcome {
        Outcome {
            passed,
            output: output.into(),
        }
    }

    #[test]
    fn the_rubric_reads_sections_keys_and_points() {
        let rubric = parse_rubric(RUBRIC);
        assert_eq!(rubric.len(), 2, "{rubric:?}");
        assert_eq!(
            rubric[0],
            Part {
                id: "01".into(),
                title: "The single-threaded server".into(),
                task: "Task 1".into(),
                folder: "01-single-threaded-server".into(),
                role: "server".into(),
                behaviours: vec![
                    ("ex01_missing_file_gets_404".into(), 3),
                    ("ex01_slash_serves_index_html".into(), 2),
                ],
            }
        );
        // No folder given; points that are not a number count for nothing.
        assert_eq!(rubric[1].folder, "");
        assert_eq!(rubric[1].role, "client");
        assert_eq!(
            rubric[1].behaviours,
            [("ex02_client_prints_a_404_response".to_string(), 0)]
        );
    }

    #[test]
    fn the_kits_own_rubric_parses_with_points_for_every_behaviour() {
        let text = include_str!("../exercises/rubric.toml");
        let rubric = parse_rubric(text);
        assert!(rubric.len() >= 5, "{rubric:?}");
        for part in &rubric {
            assert!(!part.title.is_empty(), "{part:?}");
            assert!(!part.behaviours.is_empty(), "{part:?}");
            assert!(part.behaviours.iter().all(|(_, p)| *p > 0), "{part:?}");
        }
    }

    #[test]
    fn an_exercise_is_found_by_any_spelling_of_its_number() {
        let rubric = parse_rubric(RUBRIC);
        for id in ["01", "1", "ex01", "ex1"] {
            assert_eq!(find(&rubric, id).map(|p| p.id.as_str()), Some("01"), "{id}");
        }
        assert_eq!(
            find(&rubric, "2").map(|p| p.title.as_str()),
            Some("The client")
        );
        assert_eq!(find(&rubric, "03"), None);
    }

    #[test]
    fn behaviour_names_read_as_words() {
        assert_eq!(
            in_words("ex01_missing_file_gets_404"),
            "missing file gets 404"
        );
        assert_eq!(in_words("private_cases_pass"), "private cases pass");
        assert_eq!(in_words("single"), "single");
    }

    const LIBTEST: &str = "\
running 4 tests
test ex01_slash_serves_index_html ... ok
test ex01_missing_file_gets_404 ... FAILED
test ex02_client_prints_a_404_response ... FAILED
test ex05_skipped ... ignored

failures:

---- ex01_missing_file_gets_404 stdout ----

thread 'ex01_missing_file_gets_404' panicked at tests/conformance.rs:120:5:

expected: status 404
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace

---- ex02_client_prints_a_404_response stdout ----
thread 'x' panicked at tests\\conformance.rs:9:9:
the client printed nothing

failures:
    ex01_missing_file_gets_404
    ex02_client_prints_a_404_response

test result: FAILED. 1 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out
";

    #[test]
    fn libtest_output_gives_each_outcome_and_each_failures_explanation() {
        let outcomes = parse_libtest(LIBTEST);
        assert_eq!(
            outcomes.len(),
            3,
            "an ignored test has no outcome: {outcomes:?}"
        );
        assert_eq!(outcomes["ex01_slash_serves_index_html"], outcome(true, ""));
        // The test's own panic location and libtest's backtrace note are left out.
        assert_eq!(
            outcomes["ex01_missing_file_gets_404"],
            outcome(false, "expected: status 404")
        );
        assert_eq!(
            outcomes["ex02_client_prints_a_404_response"],
            outcome(false, "the client printed nothing")
        );
    }

    #[test]
    fn a_failure_keeps_every_line_of_its_explanation_and_no_more() {
        let stdout = "test a ... FAILED\n\nfailures:\n\n---- a stdout ----\nline one\n\n\
                      line two\n\nfailures:\n    a\nnot part of it\n\ntest result: FAILED.\n";
        assert_eq!(
            parse_libtest(stdout)["a"],
            outcome(false, "line one\n\nline two")
        );
    }

    #[test]
    fn scores_come_from_the_outcomes_and_a_missing_one_fails_with_a_reason() {
        let part = part("01", &[("ex01_a", 3), ("ex01_b", 2)]);
        let ran = HashMap::from([("ex01_a".to_string(), outcome(true, ""))]);
        assert_eq!(
            score(&part, &Ok(ran)),
            [
                ("ex01_a".to_string(), 3, outcome(true, "")),
                (
                    "ex01_b".to_string(),
                    2,
                    outcome(false, "this behaviour did not run")
                ),
            ]
        );
        let broken = score(&part, &Err("does not compile".into()));
        assert_eq!(
            broken,
            [
                ("ex01_a".to_string(), 3, outcome(false, "does not compile")),
                ("ex01_b".to_string(), 2, outcome(false, "does not compile")),
            ]
        );
    }

    fn graded_example() -> (Part, Part) {
        (
            part("01", &[("ex01_a", 3), ("ex01_b", 2)]),
            part("02", &[("ex02_c", 4)]),
        )
    }

    #[test]
    fn the_rubric_report_shows_points_per_behaviour_part_and_total() {
        let (one, two) = graded_example();
        let graded: Graded = vec![
            (
                &one,
                vec![
                    ("ex01_a".into(), 3, outcome(true, "")),
                    ("ex01_b".into(), 2, outcome(false, "why")),
                ],
            ),
            (&two, vec![("ex02_c".into(), 4, outcome(true, ""))]),
        ];
        let heading = |text: &str| format!("{text}{}", " ".repeat(67 - text.chars().count()));
        let expected = format!(
            "{}  3/5\n  [3/3] ex01_a\n  [0/2] ex01_b\n\n\
             {}  4/4\n  [4/4] ex02_c\n\nTotal: 7/9\n",
            heading("Task 1 · 01 The server"),
            heading("Task 1 · 02 The server"),
        );
        assert_eq!(rubric_report(&graded), expected);
    }

    #[test]
    fn the_gradescope_json_has_the_score_and_one_test_per_behaviour() {
        let (one, two) = graded_example();
        let graded: Graded = vec![
            (
                &one,
                vec![
                    ("ex01_a".into(), 3, outcome(true, "")),
                    (
                        "ex01_b".into(),
                        2,
                        outcome(false, "got \"404\"\n\\ \r\t\u{1}"),
                    ),
                ],
            ),
            (&two, vec![("ex02_c".into(), 4, outcome(true, ""))]),
        ];
        let expected = r#"{
  "score": 7,
  "tests": [
    {"name": "ex01_a", "number": "01.1", "score": 3, "max_score": 3, "status": "passed", "output": ""},
    {"name": "ex01_b", "number": "01.2", "score": 0, "max_score": 2, "status": "failed", "output": "got \"404\"\n\\ \r\t\u0001"},
    {"name": "ex02_c", "number": "02.1", "score": 4, "max_score": 4, "status": "passed", "output": ""}
  ]
}
"#;
        assert_eq!(gradescope_json(&graded), expected);
    }

    #[test]
    fn indent_prefixes_every_line() {
        assert_eq!(indent("a\nb", "  "), "  a\n  b");
        assert_eq!(indent("", "  "), "");
    }

    const HINTS: &str = "# Hints for 01\n\n## Where to start\nBind first.\n\n## Parsing\n\
                         Split the line.\n\n## Almost there\nSend the length.\n";

    #[test]
    fn hints_come_one_at_a_time_and_say_what_is_next() {
        assert_eq!(
            pick_hint(HINTS, "01", 1),
            Ok(
                "## Where to start\nBind first.\n\n(hint 1 of 3; the next: make hint EX=01 N=2)"
                    .to_string()
            )
        );
        assert_eq!(
            pick_hint(HINTS, "01", 2),
            Ok(
                "## Parsing\nSplit the line.\n\n(hint 2 of 3; the next: make hint EX=01 N=3)"
                    .to_string()
            )
        );
        assert_eq!(
            pick_hint(HINTS, "01", 3),
            Ok("## Almost there\nSend the length.\n\n\
                (the last hint; the solution is in exercises/solutions/)"
                .to_string())
        );
        for number in [0, 4] {
            assert_eq!(
                pick_hint(HINTS, "01", number),
                Err("exercise 01 has hints 1 to 3".to_string()),
                "hint {number}"
            );
        }
    }
}
