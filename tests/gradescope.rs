//! Proof that the Gradescope autograder works: `scripts/gradescope.sh` (`make gradescope`)
//! builds the zip, and its `run_autograder`, run in a simulated `/autograder` tree (moved by
//! `WEBLAB_AUTOGRADER_ROOT`), grades a sample submission into `results/results.json`; and
//! the scripts pass shellcheck.

use std::path::PathBuf;
use std::process::Command;

fn kit() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn present(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `command`, failing with everything it said if it does not succeed.
fn run(mut command: Command) -> String {
    let shown = format!("{command:?}");
    let ran = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    let stdout = String::from_utf8_lossy(&ran.stdout).into_owned();
    assert!(
        ran.status.success(),
        "\nexpected: {shown} to succeed\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    stdout
}

#[test]
fn the_autograder_scripts_pass_shellcheck() {
    if !present("shellcheck") {
        eprintln!("skipped: shellcheck is not installed (.ci/run installs it)");
        return;
    }
    let mut shellcheck = Command::new("shellcheck");
    shellcheck.current_dir(kit()).args([
        "gradescope/setup.sh",
        "gradescope/run_autograder",
        "scripts/gradescope.sh",
    ]);
    run(shellcheck);
}

/// Builds the zip with the class's templates, unpacks it as Gradescope does into
/// `source/`, puts a correct Python server and client in `submission/`, and runs
/// `run_autograder` there (with this build's grade program, so nothing is built again).
#[test]
#[ignore = "a whole grading run; make test runs it"]
fn run_autograder_grades_a_sample_submission_in_a_simulated_tree() {
    if !present("python3") || !present("bash") {
        eprintln!("skipped: python3 or bash is not installed");
        return;
    }
    let tree = tempfile::tempdir().expect("a folder");
    let root = tree.path().join("autograder");
    let zip = tree.path().join("autograder.zip");
    let mut build = Command::new("bash");
    build
        .current_dir(kit())
        .arg("scripts/gradescope.sh")
        .arg(&zip)
        .env(
            "WEBLAB_SERVER",
            "python3 {submission}/server.py {port} {root}",
        )
        .env(
            "WEBLAB_CLIENT",
            "python3 {submission}/client.py {host} {port} {path}",
        )
        .env_remove("WEBLAB_PORT")
        .env_remove("WEBLAB_PRIVATE_TESTS");
    run(build);

    let mut unzip = Command::new("python3");
    unzip
        .args(["-m", "zipfile", "-e"])
        .arg(&zip)
        .arg(root.join("source"));
    run(unzip);
    for file in [
        "setup.sh",
        "run_autograder",
        "templates.env",
        "weblab/Cargo.toml",
    ] {
        assert!(
            root.join("source").join(file).is_file(),
            "\nexpected: {file} in the zip\n"
        );
    }
    let submission = root.join("submission");
    std::fs::create_dir_all(&submission).expect("a submission folder");
    let students = kit().join("fixtures/students");
    for (from, to) in [("correct.py", "server.py"), ("client.py", "client.py")] {
        std::fs::copy(students.join(from), submission.join(to)).expect("copy a file");
    }

    let mut autograder = Command::new("bash");
    autograder
        .arg(root.join("source/run_autograder"))
        .env("WEBLAB_AUTOGRADER_ROOT", &root)
        .env("WEBLAB_GRADE", env!("CARGO_BIN_EXE_grade"))
        .env_remove("WEBLAB_SERVER")
        .env_remove("WEBLAB_CLIENT")
        .env_remove("WEBLAB_PORT")
        .env_remove("WEBLAB_PRIVATE_TESTS");
    let said = run(autograder);

    let results = root.join("results/results.json");
    let text = std::fs::read_to_string(&results).unwrap_or_else(|e| {
        panic!(
            "\nexpected: {}: {e}\nrun_autograder said:\n{said}",
            results.display()
        )
    });
    let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let tests = json["tests"].as_array().expect("a tests list");
    let max: u64 = tests.iter().filter_map(|t| t["max_score"].as_u64()).sum();
    assert!(
        max > 0
            && json["score"].as_u64() == Some(max)
            && tests.iter().all(|t| t["status"] == "passed"),
        "\nexpected: full marks ({max}) for the correct server and client\n{text}\n\
         run_autograder said:\n{said}"
    );
    assert!(
        said.contains(&format!("score: {max}/{max}")),
        "\nexpected: the report on stdout\n{said}"
    );
}
