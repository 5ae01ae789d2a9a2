//! Grading: the registry of behaviours, their outcomes, and the reports made of them.
//!
//! The behaviours are the tests of `tests/conformance.rs`; `exercises/rubric.toml` is
//! their registry ([`parse_rubric`]): each one's exercise, role, points, hint and lesson.
//! The `grade` command runs them with `cargo test` against a student's program and hands
//! libtest's output to [`parse_libtest`]; [`score`] weighs each behaviour with its points;
//! [`check_report`], [`rubric_report`] and [`gradescope_json`] write the result for a
//! student, an instructor and Gradescope. Everything here is plain text in, plain text
//! out, so it is tested without running anything.

use std::collections::HashMap;
use std::fmt::Write as _;

mod check;
mod rubric;

pub use check::check_report;
pub use rubric::{cumulative, find, in_words, parse_rubric, problems, Behaviour, Part, Role};

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
        .map(|behaviour| {
            let (test, points) = (&behaviour.name, &behaviour.points);
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

    const RUBRIC: &str = r#"
# points per behaviour

[01]
title = "The single-threaded server"
task = "Task 1"
folder = "01-single-threaded-server"
role = "server"
# ex01_old_behaviour = 5 (a behaviour commented out)
ex01_missing_file_gets_404 = { points = 3, hint = 2, teaches = "404, \"Not Found\", and a \\" }
ex01_slash_serves_index_html = 2

[02]
title = "The client"
task = "Task 2"
role = "client"
ex02_client_prints_a_404_response = { hint = 1, points = 2 }
"#;

    fn behaviour(name: &str, points: u32, hint: usize, teaches: &str) -> Behaviour {
        Behaviour {
            name: name.into(),
            points,
            hint,
            teaches: teaches.into(),
        }
    }

    fn part(id: &str, behaviours: &[(&str, u32)]) -> Part {
        Part {
            id: id.into(),
            title: "The server".into(),
            task: "Task 1".into(),
            folder: String::new(),
            role: Role::Server,
            behaviours: behaviours
                .iter()
                .map(|&(t, p)| behaviour(t, p, 1, ""))
                .collect(),
        }
    }

    fn outcome(passed: bool, output: &str) -> Outcome {
        Outcome {
            passed,
            output: output.into(),
        }
    }

    #[test]
    fn the_rubric_reads_sections_keys_points_hints_and_lessons() {
        let rubric = parse_rubric(RUBRIC).expect("a rubric");
        assert_eq!(rubric.len(), 2, "{rubric:?}");
        assert_eq!(
            rubric[0],
            Part {
                id: "01".into(),
                title: "The single-threaded server".into(),
                task: "Task 1".into(),
                folder: "01-single-threaded-server".into(),
                role: Role::Server,
                behaviours: vec![
                    behaviour(
                        "ex01_missing_file_gets_404",
                        3,
                        2,
                        "404, \"Not Found\", and a \\"
                    ),
                    behaviour("ex01_slash_serves_index_html", 2, 0, ""),
                ],
            }
        );
        // No folder given; fields in any order.
        assert_eq!(rubric[1].folder, "");
        assert_eq!(rubric[1].role, Role::Client);
        assert_eq!(
            rubric[1].behaviours,
            [behaviour("ex02_client_prints_a_404_response", 2, 1, "")]
        );
    }

    #[test]
    fn a_rubric_line_that_cannot_be_read_is_an_error_naming_it() {
        let cases = [
            (
                "[01]\nrole = \"browser\"\n",
                "line 2: unknown role \"browser\"",
            ),
            (
                "[01]\nex01_a = two\n",
                "line 2: ex01_a: points must be a whole number",
            ),
            (
                "[01]\nrole = \"server\"\nex01_a = { points = 1, colour = 2 }\n",
                "unknown field `colour`",
            ),
            ("[01]\nex01_a = 1\n", "[01] has no role"),
            ("ex01_a = 1\n", "line 1: a key before the first [section]"),
            (
                "[01]\nrole = server\n",
                "line 2: expected a \"quoted string\"",
            ),
        ];
        for (text, expected) in cases {
            match parse_rubric(text) {
                Err(why) => assert!(why.contains(expected), "{text:?}: {why}"),
                Ok(rubric) => panic!("{text:?} was read as {rubric:?}"),
            }
        }
    }

    /// The registry is true to the suite: every behaviour in the rubric is a test of
    /// tests/conformance.rs, every `exNN_` test there is graded, each has points and a hint
    /// that exists, and each part has a known role (else the rubric would not parse).
    #[test]
    fn the_kits_own_rubric_names_real_behaviours_with_points_and_hints() {
        let rubric = parse_rubric(include_str!("../../exercises/rubric.toml"));
        let rubric = rubric.expect("the kit's rubric parses");
        assert!(rubric.len() >= 5, "{rubric:?}");
        let suite = include_str!("../../tests/conformance.rs");
        let hints = |id: &str| {
            let path = format!("{}/exercises/hints/{id}.md", env!("CARGO_MANIFEST_DIR"));
            std::fs::read_to_string(path).map_or(0, |t| t.split("\n## ").count() - 1)
        };
        let problems = problems(&rubric, suite, hints);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        for part in &rubric {
            assert!(!part.title.is_empty(), "{part:?}");
        }
    }

    #[test]
    fn the_registry_check_finds_a_missing_test_no_points_a_bad_hint_and_an_ungraded_test() {
        let suite = "#[test]\nfn ex01_a() {}\n#[test]\nfn ex01_forgotten() {}\n\
                     #[test]\n#[ignore]\nfn ex01_b() {}\nfn helper() {}\n";
        let mut one = part("01", &[("ex01_a", 0), ("ex01_typo", 2), ("ex01_b", 1)]);
        one.folder = "01-x".into();
        one.behaviours[2].hint = 9;
        let found = problems(&[one], suite, |_| 4);
        assert_eq!(
            found,
            [
                "[01] ex01_a: no points",
                "[01] ex01_typo: no test of that name in tests/conformance.rs",
                "[01] ex01_b: hint 9 does not exist (exercise 01 has hints 1 to 4)",
                "ex01_forgotten: a behaviour of the suite that no part grades",
            ]
        );
    }

    #[test]
    fn an_exercise_is_found_by_any_spelling_of_its_number() {
        let rubric = parse_rubric(RUBRIC).expect("a rubric");
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
    fn a_check_runs_the_earlier_exercises_of_the_same_role_first() {
        let rubric = parse_rubric(include_str!("../../exercises/rubric.toml")).expect("rubric");
        let ids = |id: &str| -> Vec<String> {
            let part = find(&rubric, id).expect("a part");
            cumulative(&rubric, part)
                .iter()
                .map(|p| p.id.clone())
                .collect()
        };
        assert_eq!(ids("01"), ["01"]);
        assert_eq!(ids("02"), ["02"]);
        assert_eq!(ids("03"), ["01", "03"]);
        assert_eq!(ids("05"), ["01", "03", "04", "05"]);
        assert_eq!(ids("private"), ["private"]);
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
