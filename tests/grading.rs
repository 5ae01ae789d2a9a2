//! Proof that the grader grades: `grade all` scores the student servers in
//! `fixtures/students/` as it should. The correct one gets full marks; each of the others
//! loses exactly the behaviour its bug breaks, by name. The JSON is read back with
//! Python's own parser, so it is valid JSON in Gradescope's shape.

use std::path::{Path, PathBuf};
use std::process::Command;

use weblab::grade::Role;

fn students() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/students")
}

fn python_is_here() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The Python interpreter itself, quoted for a command template: `python3` on the PATH can
/// be a launcher script (pyenv's shims are), which costs more than the interpreter's own
/// start, and a grading run starts a Python server for every behaviour. `python3` itself
/// if the interpreter does not say where it is.
fn python() -> &'static str {
    static PYTHON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PYTHON.get_or_init(|| {
        let asked = Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output();
        let path = asked
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|path| !path.is_empty() && Path::new(path).is_file());
        path.map_or_else(|| "python3".to_string(), |path| format!("\"{path}\""))
    })
}

/// Runs `grade all` on one student's server or client (the other role is not graded),
/// and returns the score, the maximum and the names of the failed behaviours of that
/// role, read from the JSON.
///
/// The fixture servers are given port 0 and announce the port they got. With `{port}`, a
/// port found free and then let go, two grading runs at once could be handed the same
/// port, and one run's behaviour would be checked against the other run's server.
fn grade(program: &str, role: Role, json: &Path) -> (u32, u32, Vec<String>) {
    let path = students().join(program);
    let command = match role {
        Role::Server => format!("{} \"{}\" 0 {{root}}", python(), path.display()),
        Role::Client => format!(
            "{} \"{}\" {{host}} {{port}} {{path}}",
            python(),
            path.display()
        ),
    };
    let ran = Command::new(env!("CARGO_BIN_EXE_grade"))
        .args(["all", "--json"])
        .arg(json)
        .env_remove("WEBLAB_SERVER")
        .env_remove("WEBLAB_CLIENT")
        .env(role.variable(), command)
        .env("WEBLAB_PORT", "0") // the servers announce the port they got
        .env_remove("WEBLAB_PRIVATE_TESTS")
        .output()
        .expect("run grade");
    assert!(
        ran.status.success(),
        "grade failed for {program}:\n{}\n{}",
        String::from_utf8_lossy(&ran.stdout),
        String::from_utf8_lossy(&ran.stderr)
    );
    let (score, max, failed) = results(json);
    let other_role = behaviours_of(|r| r != role);
    let failed = failed
        .into_iter()
        .filter(|f| !other_role.contains(f))
        .collect();
    (score, max - points_of(|r| r != role), failed)
}

/// The public rubric's parts whose role `wanted` accepts.
fn parts_of(wanted: impl Fn(Role) -> bool) -> Vec<weblab::grade::Part> {
    let kit = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rubric = std::fs::read_to_string(kit.join("exercises/rubric.toml")).expect("rubric");
    weblab::grade::parse_rubric(&rubric)
        .expect("the rubric parses")
        .into_iter()
        .filter(|p| !p.folder.is_empty() && wanted(p.role))
        .collect()
}

fn behaviours_of(wanted: impl Fn(Role) -> bool) -> Vec<String> {
    let parts = parts_of(wanted);
    parts
        .iter()
        .flat_map(|p| p.behaviours.iter().map(|b| b.name.clone()))
        .collect()
}

fn points_of(wanted: impl Fn(Role) -> bool) -> u32 {
    let parts = parts_of(wanted);
    parts
        .iter()
        .flat_map(|p| p.behaviours.iter().map(|b| b.points))
        .sum()
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

/// One student program, the behaviours it must lose (none: full marks), and words the
/// explanation of its failures must hold, so the student is told what happened.
struct Student {
    program: &'static str,
    role: Role,
    loses: &'static [&'static str],
    says: &'static [&'static str],
}

/// A student's server.
const fn server(
    program: &'static str,
    loses: &'static [&'static str],
    says: &'static [&'static str],
) -> Student {
    Student {
        program,
        role: Role::Server,
        loses,
        says,
    }
}

/// A student's client.
const fn client(
    program: &'static str,
    loses: &'static [&'static str],
    says: &'static [&'static str],
) -> Student {
    Student {
        program,
        role: Role::Client,
        loses,
        says,
    }
}

/// Grades each student and returns what went wrong: a student that lost other behaviours
/// than its own, or whose explanations lack the words that name its mistake.
fn misgraded(students: &[Student]) -> Vec<String> {
    let out = tempfile::tempdir().expect("a temporary folder");
    let mut wrong = Vec::new();
    for student in students {
        let who = student.program;
        let json = out.path().join(format!("{who}.json"));
        let (score, max, failed) = grade(who, student.role, &json);
        let written = std::fs::read_to_string(&json).unwrap_or_default();
        if failed != student.loses {
            wrong.push(format!(
                "{who}: expected exactly these behaviours to fail: {:?}\nthese failed: \
                 {failed:?}\n--- the grader's results ---\n{written}",
                student.loses
            ));
            continue;
        }
        if student.loses.is_empty() && score != max {
            wrong.push(format!("{who}: {score} of {max}, not full marks"));
        }
        // The JSON escapes the text: look for the words as JSON writes them.
        for words in student.says {
            let escaped = words.replace('\\', "\\\\").replace('"', "\\\"");
            if !written.contains(&escaped) {
                wrong.push(format!(
                    "{who}: expected the explanation to say {words:?}\n--- the grader's \
                     results ---\n{written}"
                ));
            }
        }
    }
    wrong
}

#[track_caller]
fn assert_graded(students: &[Student]) {
    if !python_is_here() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let wrong = misgraded(students);
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n\n"));
}

#[test]
fn a_correct_server_gets_full_marks() {
    // And the correct client alone: see grading_only_a_client_scores_the_client_...
    assert_graded(&[server("correct.py", &[], &[])]);
}

/// Each of the classic mistakes, written the way students write them, loses exactly the
/// behaviours it breaks, with words that name the mistake. One whole grading run each: too
/// slow for every `cargo test` (several seconds apiece, mostly starting a Python server per
/// behaviour), so `make test` and CI run it with `--ignored`. One run at a time: each
/// already checks its behaviours in parallel, and several at once on a small machine
/// starve the timing-bound ones.
#[test]
#[ignore = "a whole grading run per student server; make test runs it"]
fn every_student_server_loses_exactly_the_behaviours_its_mistake_breaks() {
    assert_graded(&[
        server("no_404.py", &["ex01_missing_file_gets_404"], &[]),
        server(
            "escapes_root.py",
            &["ex05_dot_dot_never_leaves_the_root"],
            &["the file outside the root never to be sent"],
        ),
        server(
            "no_content_length.py",
            &["ex01_responses_carry_a_matching_content_length"],
            &[],
        ),
        // One connection at a time loses everything about clients at once.
        server(
            "single_threaded.py",
            &[
                "ex03_a_second_client_is_served_while_the_first_is_still_sending",
                "ex06_two_hundred_idle_connections_cost_no_threads",
                "ex06_a_client_sending_its_request_in_pieces_delays_no_one",
                "ex06_a_client_reading_its_response_slowly_delays_no_one",
            ],
            &["one connection at a time"],
        ),
        server(
            "thread_per_connection.py",
            &[
                "ex04_the_thread_count_stays_bounded_under_many_connections",
                "ex06_two_hundred_idle_connections_cost_no_threads",
            ],
            &["not a thread"],
        ),
        // An event loop, but each response goes out with a blocking sendall.
        server(
            "blocking_writes.py",
            &["ex06_a_client_reading_its_response_slowly_delays_no_one"],
            &["while another client is slow to read a large response"],
        ),
        // One recv(1024), as the lab skeleton has it.
        server(
            "one_recv.py",
            &[
                "ex01_a_request_split_across_writes_is_read_whole",
                "ex01_a_request_head_of_8_kib_is_read_whole",
                "ex05_a_request_line_over_8_kib_gets_414",
                "ex05_a_client_too_slow_to_send_its_request_gets_408",
                "ex06_a_client_sending_its_request_in_pieces_delays_no_one",
            ],
            &["the server answered after the first 8 bytes, \"GET /Hel\""],
        ),
        // One send() of the whole response: a 16 MiB file arrives cut short.
        server(
            "one_send.py",
            &[
                "ex01_a_16_mib_file_arrives_whole_and_byte_exact",
                "ex04_shutdown_lets_the_response_in_flight_finish_and_exits_0",
                "ex06_a_client_reading_its_response_slowly_delays_no_one",
            ],
            &["the body stopped short", "of 16 MiB arrived", "sendall"],
        ),
        server(
            "no_percent_decoding.py",
            &["ex05_percent_encoded_names_are_decoded"],
            &["file with space.txt", "replay by hand"],
        ),
        server(
            "query_kept.py",
            &["ex05_the_query_string_is_not_part_of_the_file_name"],
            &["curl -v 'http://127.0.0.1:8080/style.css?v=2'"],
        ),
        // open(path) in text mode: pictures break (as does ex04's 16 MiB binary file).
        server(
            "text_mode.py",
            &[
                "ex01_binary_files_are_served_byte_exact",
                "ex04_shutdown_lets_the_response_in_flight_finish_and_exits_0",
                "ex06_a_client_reading_its_response_slowly_delays_no_one",
            ],
            &["read files as bytes"],
        ),
        server(
            "bare_lf.py",
            &[
                "ex01_every_line_of_the_response_head_ends_in_crlf",
                // Its 16 MiB response never shows where its head ends.
                "ex06_a_client_reading_its_response_slowly_delays_no_one",
            ],
            &["lines must end in \\r\\n"],
        ),
        // Strict UTF-8 decoding of the request, one connection at a time: a bad request
        // kills it (and, serial, it loses exercise 03).
        server(
            "crashes_on_bad_request.py",
            &[
                "ex01_the_server_keeps_serving_after_bad_requests",
                "ex03_a_second_client_is_served_while_the_first_is_still_sending",
                "ex06_two_hundred_idle_connections_cost_no_threads",
                "ex06_a_client_sending_its_request_in_pieces_delays_no_one",
                "ex06_a_client_reading_its_response_slowly_delays_no_one",
            ],
            &[
                "the connection was refused",
                "UnicodeDecodeError",
                "one connection at a time",
            ],
        ),
    ]);
}

/// The same for the classic mistakes of a client.
#[test]
#[ignore = "a whole grading run per student client; make test runs it"]
fn every_student_client_loses_exactly_the_behaviours_its_mistake_breaks() {
    assert_graded(&[
        // One recv(4096).
        client(
            "client_reads_once.py",
            &[
                "ex02_client_prints_a_body_longer_than_one_read",
                "ex02_client_prints_a_reply_that_arrives_in_pieces",
            ],
            &["one read returns what has arrived so far"],
        ),
        // No Connection: close, and reading until the server closes.
        client(
            "client_keeps_alive.py",
            &["ex02_client_finishes_when_the_server_keeps_the_connection_open"],
            &["Connection: close", "still running"],
        ),
        // print(response.decode())
        client(
            "client_decodes_utf8.py",
            &["ex02_client_prints_a_binary_body_byte_exact"],
            &["byte for byte", "nc -l 8080"],
        ),
    ]);
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
        // The advice names the first failure's own hint; the program tested is named.
        let advice =
            format!("Fix the first FAIL, then run this again. Stuck? make hint EX={exercise} N=");
        let last = said.lines().last().unwrap_or_default();
        assert!(
            last.starts_with(&advice),
            "{folder} as given: expected advice at the end, got:\n{said}"
        );
        let program = given.join(folder).join("target").join("debug");
        assert!(
            said.contains(&format!("tested: {}", program.display())),
            "{folder} as given: expected the program tested to be named, got:\n{said}"
        );
        // A todo!() reached by every request is explained once, not once per behaviour.
        assert!(
            said.contains("fail the same way as one shown in full above"),
            "{folder} as given: expected identical failures shown once, got:\n{said}"
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
                    ("05", false),
                    ("06", false)
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
        .expect("the rubric parses")
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
                "{} \"{}\" {{host}} {{port}} {{path}}",
                python(),
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
            .filter(|p| (p.role == weblab::grade::Role::Client) == role_is_client);
        let behaviours: Vec<_> = parts.flat_map(|p| p.behaviours.iter()).collect();
        let total = behaviours.iter().map(|b| b.points).sum();
        (total, behaviours.iter().map(|b| b.name.clone()).collect())
    };
    let ((client_points, _), (server_points, server_behaviours)) = (points(true), points(false));
    assert_eq!(failed, server_behaviours, "the failed behaviours:\n{said}");
    assert_eq!(
        (score, max),
        (client_points, client_points + server_points),
        "\n{said}"
    );
}
