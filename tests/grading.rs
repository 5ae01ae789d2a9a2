//! Proof that the grader grades: `grade all` scores the student servers in
//! `fixtures/students/` as it should. The correct one gets full marks; each of the others
//! loses exactly the behaviour its bug breaks, by name. The JSON is read back with
//! Python's own parser, so it is valid JSON in Gradescope's shape.

use std::path::{Path, PathBuf};
use std::process::Command;

fn students() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/students")
}

fn python_is_here() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `grade all` on one student's server (and the correct client), and returns the
/// score, the maximum and the names of the failed behaviours, read from the JSON.
///
/// The fixture servers are given port 0 and announce the port they got. With `{port}`, a
/// port found free and then let go, two grading runs at once could be handed the same
/// port, and one run's behaviour would be checked against the other run's server.
fn grade(server: &str, json: &Path) -> (u32, u32, Vec<String>) {
    let dir = students();
    let ran = Command::new(env!("CARGO_BIN_EXE_grade"))
        .args(["all", "--json"])
        .arg(json)
        .env(
            "WEBLAB_SERVER",
            format!("python3 \"{}\" 0 {{root}}", dir.join(server).display()),
        )
        .env(
            "WEBLAB_CLIENT",
            format!(
                "python3 \"{}\" {{host}} {{port}} {{path}}",
                dir.join("client.py").display()
            ),
        )
        .env("WEBLAB_PORT", "0") // they announce the port they got
        .env_remove("WEBLAB_PRIVATE_TESTS")
        .output()
        .expect("run grade");
    assert!(
        ran.status.success(),
        "grade failed for {server}:\n{}\n{}",
        String::from_utf8_lossy(&ran.stdout),
        String::from_utf8_lossy(&ran.stderr)
    );
    results(json)
}

/// The score, the maximum and the names of the failed behaviours in a results file,
/// read with Python's own JSON parser.
fn results(json: &Path) -> (u32, u32, Vec<String>) {
    let summary = Command::new("python3")
        .arg("-c")
        .arg(
            "import json, sys\n\
             d = json.load(open(sys.argv[1]))\n\
             assert all(t['status'] in ('passed', 'failed') for t in d['tests'])\n\
             print(d['score'], sum(t['max_score'] for t in d['tests']))\n\
             for t in d['tests']:\n    \
                 if t['status'] == 'failed': print(t['name'])",
        )
        .arg(json)
        .output()
        .expect("run python3");
    let text = String::from_utf8_lossy(&summary.stdout).into_owned();
    assert!(
        summary.status.success(),
        "bad JSON in {}: {text}",
        json.display()
    );
    let mut lines = text.lines();
    let mut totals = lines.next().unwrap_or_default().split(' ');
    let score = totals.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let max = totals.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    (score, max, lines.map(String::from).collect())
}

/// Grades one student's server and checks that it loses exactly the `expected` behaviours
/// (none: full marks).
fn assert_graded(server: &str, expected: &[&str]) {
    if !python_is_here() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let out = tempfile::tempdir().expect("a temporary folder");
    let json = out.path().join(format!("{server}.json"));
    let (score, max, failed) = grade(server, &json);
    if failed != expected {
        // Show why each failed, from the results the grader wrote.
        let written = std::fs::read_to_string(&json).unwrap_or_default();
        panic!(
            "{server}: expected exactly these behaviours to fail: {expected:?}\n\
             these failed: {failed:?}\n\n--- the grader's results ---\n{written}"
        );
    }
    if expected.is_empty() {
        assert_eq!(score, max, "{server}: full marks");
    } else {
        assert!(score < max, "{server}: {score} of {max}");
    }
}

#[test]
fn a_correct_server_and_client_get_full_marks() {
    assert_graded("correct.py", &[]);
}

#[test]
fn a_server_without_404_loses_exactly_that_behaviour() {
    assert_graded("no_404.py", &["ex01_missing_file_gets_404"]);
}

/// The rest of the fixtures, one whole grading run each: too slow for every `cargo test`
/// (about 3 s apiece, mostly starting a Python server per behaviour), so `make test` and CI
/// run it with `--ignored`. One run at a time: each already checks its behaviours in
/// parallel, and several at once on a small machine starve the timing-bound ones.
#[test]
#[ignore = "four more whole grading runs; make test runs it"]
fn every_other_student_server_loses_exactly_the_behaviour_its_bug_breaks() {
    assert_graded("escapes_root.py", &["ex05_dot_dot_never_leaves_the_root"]);
    assert_graded(
        "no_content_length.py",
        &["ex01_responses_carry_a_matching_content_length"],
    );
    assert_graded(
        "single_threaded.py",
        &["ex03_a_second_client_is_served_while_the_first_is_still_sending"],
    );
    assert_graded(
        "thread_per_connection.py",
        &["ex04_the_thread_count_stays_bounded_under_many_connections"],
    );
}

/// Copies the folder `from` into `to`, leaving out build output.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a folder");
    for entry in std::fs::read_dir(from).expect("list a folder") {
        let entry = entry.expect("a folder entry");
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().expect("its type").is_dir() {
            if entry.file_name() != "target" {
                copy_tree(&source, &target);
            }
        } else {
            std::fs::copy(&source, &target).expect("copy a file");
        }
    }
}

/// Runs the grade command with `args` on an exercises folder: whether it succeeded, what
/// it printed, and its errors.
fn grade_in(args: &[&str], exercises: &Path) -> (bool, String, String) {
    let ran = Command::new(env!("CARGO_BIN_EXE_grade"))
        .args(args)
        .arg("--exercises")
        .arg(exercises)
        .env_remove("WEBLAB_SERVER")
        .env_remove("WEBLAB_CLIENT")
        .output()
        .expect("run grade");
    (
        ran.status.success(),
        String::from_utf8_lossy(&ran.stdout).trim().to_string(),
        String::from_utf8_lossy(&ran.stderr).into_owned(),
    )
}

/// `grade check` builds the student's crate, then runs the exercise's behaviours against
/// it: the untouched starter passes none, and says what went wrong under each; the starter
/// with its solution copied over passes every one. Checked for the first server and for
/// the client; then `grade progress` over the same folder. (`make check-exercises` checks
/// every exercise this way.)
#[test]
#[ignore = "builds exercise crates; make test runs it"]
fn checking_an_exercise_builds_the_students_crate_and_runs_its_behaviours() {
    let kit = Path::new(env!("CARGO_MANIFEST_DIR"));
    let given = kit.join("exercises");
    // Always the same folder, under cargo's folder for test data: the grader keeps one
    // build folder per exercises folder, so a new one on every run would pile them up.
    let solved = Path::new(env!("CARGO_TARGET_TMPDIR")).join("grading-solved-exercises");
    let _ = std::fs::remove_dir_all(&solved);
    copy_tree(&given, &solved);
    for (exercise, folder) in [("01", "01-single-threaded-server"), ("02", "02-client")] {
        let (passed, said, stderr) = grade_in(&["check", exercise], &given);
        let summary = said.lines().find(|l| l.ends_with(" behaviours pass."));
        let total = summary
            .and_then(|l| l.strip_prefix("0 of "))
            .and_then(|l| l.split(' ').next())
            .unwrap_or_default()
            .to_string();
        assert!(
            !passed && !total.is_empty(),
            "{folder} as given: expected a failure with 0 behaviours passing, got:\n{said}\n{stderr}"
        );
        let explained = said
            .lines()
            .any(|l| l.starts_with("        ") && !l.trim().is_empty());
        assert!(
            said.contains("  FAIL  ") && explained,
            "{folder} as given: expected each FAIL with what went wrong under it, got:\n{said}"
        );
        let advice =
            format!("Fix the first FAIL, then run this again. Stuck? make hint EX={exercise}");
        assert!(
            said.ends_with(&advice),
            "{folder} as given: expected advice at the end, got:\n{said}"
        );

        let solution = kit.join("exercises/solutions").join(folder);
        copy_tree(&solution, &solved.join(folder));
        let (passed, said, stderr) = grade_in(&["check", exercise, "--quiet"], &solved);
        assert!(
            passed && said == format!("{total} of {total} behaviours pass."),
            "{folder} solved: expected all {total} behaviours to pass, got {said:?}\n{stderr}"
        );

        // The starter again: it is graded on its own build, not on the solution's. Quiet,
        // it says only how many pass.
        let (passed, said, _) = grade_in(&["check", exercise, "--quiet"], &given);
        assert!(
            !passed && said == format!("0 of {total} behaviours pass."),
            "{folder} as given, after the solution: expected 0 behaviours passing, got {said:?}"
        );
    }

    let (passed, said, stderr) = grade_in(&["progress"], &solved);
    let states: Vec<(&str, bool)> = said
        .lines()
        .map(|l| (l.get(..2).unwrap_or(l), l.ends_with(" done")))
        .collect();
    assert!(
        passed
            && states
                == [
                    ("01", true),
                    ("02", true),
                    ("03", false),
                    ("04", false),
                    ("05", false)
                ],
        "progress with exercises 01 and 02 solved: expected those two done, got:\n{said}\n{stderr}"
    );
    std::fs::remove_dir_all(&solved).expect("remove the copy");
}

#[test]
fn checking_an_exercise_that_does_not_exist_is_a_usage_error() {
    let ran = Command::new(env!("CARGO_BIN_EXE_grade"))
        .args(["check", "99"])
        .output()
        .expect("run grade");
    let said = String::from_utf8_lossy(&ran.stderr);
    assert_eq!(
        ran.status.code(),
        Some(2),
        "the exit status; it said {said:?}"
    );
    assert_eq!(said, "grade: no exercise 99 in exercises/rubric.toml\n");
    assert!(
        ran.stdout.is_empty(),
        "printed {:?}",
        String::from_utf8_lossy(&ran.stdout)
    );
}

#[test]
fn a_hint_is_printed_by_its_number() {
    let kit = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(kit.join("exercises/hints/01.md")).expect("the hints");
    let second = weblab::grade::pick_hint(&text, "01", 2).expect("a second hint");
    let ran = Command::new(env!("CARGO_BIN_EXE_grade"))
        .args(["hint", "1", "2"])
        .output()
        .expect("run grade");
    let said = String::from_utf8_lossy(&ran.stdout);
    assert!(ran.status.success(), "grade hint 1 2 failed: {said}");
    assert_eq!(said.trim_end(), second.trim_end());
}

/// Grading a client alone: its exercise is scored, and every server exercise fails with
/// the reason. The maximum is the whole public rubric's.
#[test]
fn grading_only_a_client_scores_the_client_and_says_no_server_was_given() {
    if !python_is_here() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let kit = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rubric = std::fs::read_to_string(kit.join("exercises/rubric.toml")).expect("rubric");
    let public: Vec<_> = weblab::grade::parse_rubric(&rubric)
        .into_iter()
        .filter(|p| !p.folder.is_empty())
        .collect();
    let out = tempfile::tempdir().expect("a temporary folder");
    let json = out.path().join("client.json");
    let client = students().join("client.py");
    let ran = Command::new(env!("CARGO_BIN_EXE_grade"))
        .args(["all", "--json"])
        .arg(&json)
        .env_remove("WEBLAB_SERVER")
        .env(
            "WEBLAB_CLIENT",
            format!(
                "python3 \"{}\" {{host}} {{port}} {{path}}",
                client.display()
            ),
        )
        .env_remove("WEBLAB_PRIVATE_TESTS")
        .output()
        .expect("run grade");
    let said = String::from_utf8_lossy(&ran.stdout);
    assert!(ran.status.success(), "grade all failed:\n{said}");
    let (score, max, failed) = results(&json);
    let written = std::fs::read_to_string(&json).expect("the results");
    assert!(
        written.contains("no server was given to grade (set WEBLAB_SERVER)"),
        "expected the results to say why the server exercises failed:\n{written}"
    );
    let points = |role_is_client: bool| -> (u32, Vec<String>) {
        let parts = public
            .iter()
            .filter(|p| (p.role == "client") == role_is_client);
        let behaviours: Vec<_> = parts.flat_map(|p| p.behaviours.iter()).collect();
        let total = behaviours.iter().map(|(_, points)| points).sum();
        (
            total,
            behaviours.iter().map(|(name, _)| name.clone()).collect(),
        )
    };
    let ((client_points, _), (server_points, server_behaviours)) = (points(true), points(false));
    assert_eq!(failed, server_behaviours, "the failed behaviours:\n{said}");
    assert_eq!(
        (score, max),
        (client_points, client_points + server_points),
        "\n{said}"
    );
}
