//! The report of `make check`: each behaviour with PASS or FAIL, each failure explained
//! once with its own hint, and what to do next.

use std::fmt::Write as _;

use super::{in_words, indent, Graded, Part};

/// The part of a failure's explanation that makes two failures "the same": the student
/// program's panic or Python traceback when there is one (a `todo!()` reached by every
/// request), else the whole explanation (a compile error given to every behaviour). A
/// thread's number, `thread 'main' (4702) panicked`, differs from run to run: left out.
fn same_failure_key(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    if let Some(at) = lines.iter().position(|l| l.contains("panicked at")) {
        let line = lines[at];
        let line = match (line.find(" ("), line.find(") panicked at")) {
            (Some(open), Some(close)) if open < close => {
                format!("{}{}", &line[..open], &line[close + 1..])
            }
            _ => line.to_string(),
        };
        return format!("{line}\n{}", lines.get(at + 1).unwrap_or(&""));
    }
    if let Some(start) = output.find("Traceback (most recent call last)") {
        return output[start..].to_string();
    }
    output.to_string()
}

/// The report of a check of exercise `exercise`, whose program (`tested`) ran the
/// behaviours of `checked` (its own and the earlier ones of its role). Returns the report
/// and whether every behaviour passed. `quiet` gives only the summary line.
pub fn check_report(exercise: &Part, checked: &Graded, tested: &str, quiet: bool) -> String {
    let all: Vec<_> = checked.iter().flat_map(|(_, o)| o.iter()).collect();
    let passed = all.iter().filter(|(_, _, o)| o.passed).count();
    let summary = format!("{passed} of {} behaviours pass.", all.len());
    if quiet {
        return summary + "\n";
    }
    let mut out = format!(
        "exercise {}: {} ({})\ntested: {tested}\n",
        exercise.id, exercise.title, exercise.task
    );
    let earlier: Vec<&str> = checked
        .iter()
        .map(|(p, _)| p.id.as_str())
        .filter(|id| *id != exercise.id)
        .collect();
    if !earlier.is_empty() {
        let _ = writeln!(
            out,
            "with the behaviours of exercise {} too: a step must not break an earlier one",
            earlier.join(", ")
        );
    }
    let mut shown: Vec<(String, String)> = Vec::new(); // failure key, behaviour in words
    let mut repeats = 0;
    let mut first_hint = None;
    for (part, outcomes) in checked {
        let _ = writeln!(out, "\n{} {}", part.id, part.title);
        for (test, _, outcome) in outcomes {
            let mark = if outcome.passed { "PASS" } else { "FAIL" };
            let _ = writeln!(out, "  {mark}  {}", in_words(test));
            if outcome.passed {
                continue;
            }
            let hint = part
                .behaviours
                .iter()
                .find(|b| &b.name == test)
                .map_or(0, |b| b.hint);
            let hint_line = match hint {
                0 => String::new(),
                n => format!("hint: make hint EX={} N={n}", part.id),
            };
            if first_hint.is_none() && hint > 0 {
                first_hint = Some(hint_line.clone());
            }
            let key = same_failure_key(&outcome.output);
            if let Some((_, first)) = shown.iter().find(|(k, _)| *k == key) {
                repeats += 1;
                let _ = writeln!(out, "        (fails the same way as \"{first}\" above)");
            } else {
                shown.push((key, in_words(test)));
                let _ = writeln!(out, "{}", indent(&outcome.output, "        "));
                if !hint_line.is_empty() {
                    let _ = writeln!(out, "        {hint_line}");
                }
            }
        }
    }
    let _ = writeln!(out, "\n{summary}");
    if repeats > 0 {
        let _ = writeln!(
            out,
            "{repeats} more behaviour{} fail{} the same way as one shown in full above.",
            if repeats == 1 { "" } else { "s" },
            if repeats == 1 { "s" } else { "" }
        );
    }
    // A starter's todo!() is where every request ends: say so, it is the step to do next.
    let todo = all
        .iter()
        .filter(|(_, _, o)| !o.passed)
        .flat_map(|(_, _, o)| o.output.lines())
        .find(|line| line.starts_with("not yet implemented"));
    if let Some(todo) = todo {
        let _ = writeln!(
            out,
            "Your program stopped at a todo!() ({todo}): that step is the one to write next."
        );
    }
    if passed < all.len() {
        let stuck = first_hint.unwrap_or_else(|| format!("make hint EX={}", exercise.id));
        let stuck = stuck.trim_start_matches("hint: ");
        let _ = writeln!(
            out,
            "Fix the first FAIL, then run this again. Stuck? {stuck}"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grade::{Behaviour, Outcome, Role};

    fn part(id: &str, tests: &[(&str, usize)]) -> Part {
        Part {
            id: id.into(),
            title: format!("exercise {id}"),
            task: "Task 1".into(),
            folder: format!("{id}-x"),
            role: Role::Server,
            behaviours: tests
                .iter()
                .map(|&(name, hint)| Behaviour {
                    name: name.into(),
                    points: 1,
                    hint,
                    teaches: String::new(),
                })
                .collect(),
        }
    }

    fn failed(output: &str) -> Outcome {
        Outcome {
            passed: false,
            output: output.into(),
        }
    }

    const TODO_PANIC: &str = "--- the server's stderr ---\nthread 'main' (4702) panicked at \
                              src/handler.rs:33:5:\nnot yet implemented: read the request head";

    #[test]
    fn each_failure_names_its_own_hint_and_identical_failures_are_shown_once() {
        let one = part("01", &[("ex01_a", 1), ("ex01_b", 4), ("ex01_c", 2)]);
        let checked: Graded = vec![(
            &one,
            vec![
                (
                    "ex01_a".into(),
                    1,
                    Outcome {
                        passed: true,
                        output: String::new(),
                    },
                ),
                (
                    "ex01_b".into(),
                    1,
                    failed(&format!("expected: status 200\n\n{TODO_PANIC}")),
                ),
                (
                    "ex01_c".into(),
                    1,
                    failed(&format!(
                        "expected: status 404\n\n{}",
                        TODO_PANIC.replace("4702", "4747")
                    )),
                ),
            ],
        )];
        let report = check_report(&one, &checked, "/kit/target/debug/server", false);
        let expected = "exercise 01: exercise 01 (Task 1)\ntested: /kit/target/debug/server\n\n\
             01 exercise 01\n  PASS  a\n  FAIL  b\n        expected: status 200\n        \n        \
             --- the server's stderr ---\n        thread 'main' (4702) panicked at src/handler.rs:33:5:\n        \
             not yet implemented: read the request head\n        hint: make hint EX=01 N=4\n  \
             FAIL  c\n        (fails the same way as \"b\" above)\n\n1 of 3 behaviours pass.\n\
             1 more behaviour fails the same way as one shown in full above.\n\
             Your program stopped at a todo!() (not yet implemented: read the request head): \
             that step is the one to write next.\n\
             Fix the first FAIL, then run this again. Stuck? make hint EX=01 N=4\n";
        assert_eq!(report, expected);
        assert_eq!(
            check_report(&one, &checked, "x", true),
            "1 of 3 behaviours pass.\n"
        );
    }

    #[test]
    fn a_check_names_the_earlier_exercises_it_also_ran() {
        let (one, three) = (part("01", &[("ex01_a", 1)]), part("03", &[("ex03_a", 2)]));
        let pass = || Outcome {
            passed: true,
            output: String::new(),
        };
        let checked: Graded = vec![
            (&one, vec![("ex01_a".into(), 1, pass())]),
            (&three, vec![("ex03_a".into(), 1, pass())]),
        ];
        let report = check_report(&three, &checked, "prog", false);
        assert!(
            report.contains("with the behaviours of exercise 01 too"),
            "{report}"
        );
        assert!(report.ends_with("\n2 of 2 behaviours pass.\n"), "{report}");
    }

    #[test]
    fn a_compile_error_given_to_every_behaviour_is_shown_once() {
        let one = part("01", &[("ex01_a", 1), ("ex01_b", 1), ("ex01_c", 1)]);
        let broken = || failed("the code does not compile yet; cargo says:\n\nerror[E0425]");
        let checked: Graded = vec![(
            &one,
            vec![
                ("ex01_a".into(), 1, broken()),
                ("ex01_b".into(), 1, broken()),
                ("ex01_c".into(), 1, broken()),
            ],
        )];
        let report = check_report(&one, &checked, "prog", false);
        assert_eq!(report.matches("error[E0425]").count(), 1, "{report}");
        assert!(
            report.contains("2 more behaviours fail the same way"),
            "{report}"
        );
    }
}
