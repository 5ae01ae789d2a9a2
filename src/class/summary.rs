//! The summary an instructor reads at a glance: how the scores spread, which behaviours
//! most students failed, and which submissions could not be graded.

use std::fmt::Write as _;

use super::StudentResult;

/// How many of the most failed behaviours the summary lists.
const MOST_FAILED: usize = 5;

/// The distribution of scores (in tenths of the maximum, one bar per band), the mean and
/// median, the behaviours failed most often, and each submission's problem.
pub fn summary(results: &[StudentResult]) -> String {
    let mut out = String::new();
    let Some(first) = results.first() else {
        return "No submissions.\n".into();
    };
    let max = first.max_score.max(1);
    let _ = writeln!(
        out,
        "{} submissions, out of {} points:",
        results.len(),
        first.max_score
    );
    let mut bands = [0usize; 11];
    for result in results {
        bands[(result.score * 10 / max).min(10) as usize] += 1;
    }
    for (band, count) in bands.iter().enumerate().rev() {
        let label = match band {
            10 => "100%".to_string(),
            _ => format!("{}-{}%", band * 10, band * 10 + 9),
        };
        let line = format!("  {label:>7} {count:>3} {}", "#".repeat(*count));
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let mut scores: Vec<u32> = results.iter().map(|r| r.score).collect();
    scores.sort_unstable();
    let mean = scores.iter().sum::<u32>() as f64 / scores.len() as f64;
    let median = match scores.len() % 2 {
        1 => scores[scores.len() / 2] as f64,
        _ => (scores[scores.len() / 2 - 1] + scores[scores.len() / 2]) as f64 / 2.0,
    };
    let _ = writeln!(out, "  mean {mean:.1}, median {median:.1}\n");

    let mut failed: Vec<(&str, usize)> = first
        .behaviours
        .iter()
        .enumerate()
        .map(|(i, (name, _, _))| {
            let count = results
                .iter()
                .filter(|r| r.behaviours.get(i).is_some_and(|b| b.1 < b.2))
                .count();
            (name.as_str(), count)
        })
        .filter(|(_, count)| *count > 0)
        .collect();
    failed.sort_by_key(|(_, count)| std::cmp::Reverse(*count)); // stable: ties keep the rubric's order
    if failed.is_empty() {
        let _ = writeln!(out, "Every behaviour passed for every student.");
    } else {
        let _ = writeln!(out, "Most often failed:");
        for (name, count) in failed.iter().take(MOST_FAILED) {
            let _ = writeln!(out, "  {count:>4} of {}  {name}", results.len());
        }
    }
    let problems: Vec<&StudentResult> = results.iter().filter(|r| r.problem.is_some()).collect();
    if !problems.is_empty() {
        let _ = writeln!(out, "\nNot graded normally:");
        for result in problems {
            let problem = result.problem.as_deref().unwrap_or_default();
            let first_line = problem.lines().next().unwrap_or_default();
            let _ = writeln!(out, "  {}: {first_line}", result.student);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(student: &str, earned: [u32; 3], problem: Option<&str>) -> StudentResult {
        let behaviours: Vec<(String, u32, u32)> = ["ex01_a", "ex01_b", "ex02_c"]
            .iter()
            .zip(earned)
            .zip([5, 3, 2])
            .map(|((name, earned), max)| (name.to_string(), earned, max))
            .collect();
        StudentResult {
            student: student.into(),
            score: earned.iter().sum(),
            max_score: 10,
            behaviours,
            problem: problem.map(String::from),
            took: std::time::Duration::ZERO,
        }
    }

    #[test]
    fn the_summary_shows_the_spread_the_most_failed_and_the_problems() {
        let results = [
            result("ada", [5, 3, 2], None),
            result("bo", [5, 0, 2], None),
            result("cy", [5, 0, 0], None),
            result("di", [0, 0, 0], Some("grading took too long\nmore")),
        ];
        let expected = "\
4 submissions, out of 10 points:
     100%   1 #
   90-99%   0
   80-89%   0
   70-79%   1 #
   60-69%   0
   50-59%   1 #
   40-49%   0
   30-39%   0
   20-29%   0
   10-19%   0
     0-9%   1 #
  mean 5.5, median 6.0

Most often failed:
     3 of 4  ex01_b
     2 of 4  ex02_c
     1 of 4  ex01_a

Not graded normally:
  di: grading took too long
";
        assert_eq!(summary(&results), expected);
    }

    #[test]
    fn a_class_where_all_pass_says_so() {
        let text = summary(&[result("ada", [5, 3, 2], None)]);
        assert!(
            text.ends_with("Every behaviour passed for every student.\n"),
            "{text}"
        );
    }
}
