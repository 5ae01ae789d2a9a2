//! `grade`: check a student's exercise, show progress, give hints, or grade a submission.
//!
//! ```text
//! grade check 01          build exercises/01-*, run its behaviours, explain each failure
//! grade progress          which exercises pass
//! grade hint 01 [N]       the Nth hint of exercise 01
//! grade all               every exercise: a rubric on stdout, Gradescope JSON on disk
//! ```
//!
//! The behaviours are the tests of `tests/conformance.rs`; this command runs them with
//! `cargo test` against the student's program (through `WEBLAB_SERVER` or `WEBLAB_CLIENT`)
//! and turns libtest's output into words: each behaviour, passed or failed, and for a
//! failure what was expected and what came back. Points live in `exercises/rubric.toml`.
//! With `WEBLAB_SERVER` and/or `WEBLAB_CLIENT` set, `grade all` grades that command (in any
//! language) instead of the crates in `exercises/`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand};

/// Check, track and grade the weblab exercises.
#[derive(Parser)]
#[command(name = "grade")]
struct Args {
    #[command(subcommand)]
    action: Action,
    /// The folder holding the exercise crates (a student's copy of `exercises/`)
    #[arg(long, global = true, value_name = "DIR")]
    exercises: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Action {
    /// Build one exercise and run its behaviours
    Check {
        /// The exercise's number, such as 01
        exercise: String,
        /// Print only the summary line
        #[arg(long)]
        quiet: bool,
    },
    /// List which exercises pass
    Progress,
    /// Print a hint for an exercise
    Hint {
        exercise: String,
        /// Which hint (1 is the gentlest)
        #[arg(default_value_t = 1)]
        number: usize,
    },
    /// Grade every exercise: print the rubric and write Gradescope's results.json
    All {
        /// Where to write the JSON
        #[arg(long, default_value = "target/grade/results.json")]
        json: PathBuf,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    let kit = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rubric = match std::fs::read_to_string(kit.join("exercises/rubric.toml")) {
        Ok(text) => parse_rubric(&text),
        Err(error) => return fail(&format!("exercises/rubric.toml: {error}")),
    };
    let exercises = args.exercises.unwrap_or_else(|| kit.join("exercises"));
    let grader = Grader {
        kit,
        exercises: &exercises,
    };
    match args.action {
        Action::Check { exercise, quiet } => match find(&rubric, &exercise) {
            Some(part) => grader.check(part, quiet),
            None => fail(&format!("no exercise {exercise} in exercises/rubric.toml")),
        },
        Action::Progress => grader.progress(&rubric),
        Action::Hint { exercise, number } => hint(kit, &exercise, number),
        Action::All { json } => grader.grade_all(&rubric, &json),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("grade: {message}");
    ExitCode::from(2)
}

// ---------------------------------------------------------------------------------------
// The rubric

/// One part of the rubric: an exercise (or the private cases) and its behaviours.
struct Part {
    id: String,
    title: String,
    task: String,
    folder: String,
    role: String,
    behaviours: Vec<(String, u32)>,
}

/// Reads the small subset of TOML the rubric uses: `[id]` sections of `key = value` lines.
fn parse_rubric(text: &str) -> Vec<Part> {
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

fn find<'a>(rubric: &'a [Part], id: &str) -> Option<&'a Part> {
    let id = id.trim_start_matches("ex");
    rubric
        .iter()
        .find(|p| p.id == id || p.id == format!("{id:0>2}"))
}

/// A behaviour's name in words: `ex01_missing_file_gets_404` -> "missing file gets 404".
fn in_words(test: &str) -> String {
    let words = match test.split_once('_') {
        Some((prefix, rest)) if prefix.starts_with("ex") => rest,
        _ => test,
    };
    words.replace('_', " ")
}

// ---------------------------------------------------------------------------------------
// Running the behaviours

/// What happened to one behaviour; `output` explains a failure.
#[derive(Clone)]
struct Outcome {
    passed: bool,
    output: String,
}

/// A behaviour, its points, and what happened to it.
type Scored = (String, u32, Outcome);
/// Each part of the rubric with its scored behaviours.
type Graded<'p> = Vec<(&'p Part, Vec<Scored>)>;

struct Grader<'a> {
    kit: &'a Path,
    exercises: &'a Path,
}

impl Grader<'_> {
    /// Builds an exercise's crate and returns the command line that runs its program.
    fn build(&self, part: &Part) -> Result<String, String> {
        let folder = self.exercises.join(&part.folder);
        let manifest = folder.join("Cargo.toml");
        let cargo_toml = std::fs::read_to_string(&manifest)
            .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
        let name = cargo_toml
            .lines()
            .find_map(|l| l.trim().strip_prefix("name").map(str::trim))
            .and_then(|l| l.strip_prefix('='))
            .map(|n| n.trim().trim_matches('"').to_string())
            .ok_or_else(|| format!("{}: no package name", manifest.display()))?;
        // One target folder per copy of the exercises: two copies of a crate share its
        // name, and cargo would take one's build for the other's.
        let target = self
            .kit
            .join("target/exercises")
            .join(folder_key(self.exercises));
        let built = Command::new(cargo())
            .args(["build", "--quiet", "--manifest-path"])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target)
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !built.status.success() {
            return Err(format!(
                "the code does not compile yet; cargo says:\n\n{}",
                String::from_utf8_lossy(&built.stderr)
            ));
        }
        let program = target
            .join("debug")
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        let args = match part.role.as_str() {
            "client" => "{host} {port} {path}",
            _ => "{port} {root}",
        };
        Ok(format!("\"{}\" {args}", program.display()))
    }

    /// Runs the conformance tests whose names contain one of `filters`, with `env` set
    /// (and the caller's WEBLAB_SERVER and WEBLAB_CLIENT removed unless given again).
    fn run(
        &self,
        filters: &[String],
        env: &[(&str, String)],
    ) -> Result<HashMap<String, Outcome>, String> {
        let mut command = Command::new(cargo());
        command
            .current_dir(self.kit)
            .args(["test", "--test", "conformance", "--"])
            .args(filters)
            .env_remove("WEBLAB_SERVER")
            .env_remove("WEBLAB_CLIENT")
            .env("RUST_BACKTRACE", "0");
        for (name, value) in env {
            command.env(name, value);
        }
        let ran = command
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        let outcomes = parse_libtest(&String::from_utf8_lossy(&ran.stdout));
        if outcomes.is_empty() {
            return Err(format!(
                "the behaviour suite did not run; cargo says:\n\n{}",
                String::from_utf8_lossy(&ran.stderr)
            ));
        }
        Ok(outcomes)
    }

    /// Builds one exercise and runs its behaviours: each behaviour's outcome.
    fn outcomes(&self, part: &Part) -> Vec<Scored> {
        let results = self.build(part).and_then(|program| {
            let variable = match part.role.as_str() {
                "client" => "WEBLAB_CLIENT",
                _ => "WEBLAB_SERVER",
            };
            let env = [(variable, program)];
            self.run(&[format!("ex{}_", part.id)], &env)
        });
        score(part, &results)
    }

    fn check(&self, part: &Part, quiet: bool) -> ExitCode {
        let outcomes = self.outcomes(part);
        let passed = outcomes.iter().filter(|(_, _, o)| o.passed).count();
        if !quiet {
            println!("exercise {}: {} ({})\n", part.id, part.title, part.task);
            for (test, _, outcome) in &outcomes {
                let mark = if outcome.passed { "PASS" } else { "FAIL" };
                println!("  {mark}  {}", in_words(test));
                if !outcome.passed {
                    println!("{}", indent(&outcome.output, "        "));
                }
            }
            println!();
        }
        println!("{passed} of {} behaviours pass.", outcomes.len());
        if passed == outcomes.len() {
            return ExitCode::SUCCESS;
        }
        if !quiet {
            println!(
                "Fix the first FAIL, then run this again. Stuck? make hint EX={}",
                part.id
            );
        }
        ExitCode::from(1)
    }

    fn progress(&self, rubric: &[Part]) -> ExitCode {
        for part in rubric.iter().filter(|p| !p.folder.is_empty()) {
            let outcomes = self.outcomes(part);
            let passed = outcomes.iter().filter(|(_, _, o)| o.passed).count();
            let state = match passed == outcomes.len() {
                true => "done",
                false => "to do",
            };
            println!(
                "{}  {:<48} {passed:>2}/{:<2} {state}",
                part.id,
                part.title,
                outcomes.len()
            );
        }
        ExitCode::SUCCESS
    }

    fn grade_all(&self, rubric: &[Part], json: &Path) -> ExitCode {
        let server = std::env::var("WEBLAB_SERVER").ok();
        let client = std::env::var("WEBLAB_CLIENT").ok();
        let private = std::env::var_os("WEBLAB_PRIVATE_TESTS").is_some();
        let parts: Vec<&Part> = rubric
            .iter()
            .filter(|p| !p.folder.is_empty() || private)
            .collect();
        let graded: Graded = if server.is_some() || client.is_some() {
            println!(
                "weblab grade: {}\n",
                server.as_deref().unwrap_or("(no server)")
            );
            self.grade_commands(&parts, server, client)
        } else {
            println!("weblab grade: {}\n", self.exercises.display());
            parts.iter().map(|p| (*p, self.outcomes(p))).collect()
        };
        print!("{}", rubric_report(&graded));
        let written = std::fs::create_dir_all(json.parent().unwrap_or(Path::new(".")))
            .and_then(|()| std::fs::write(json, gradescope_json(&graded)));
        match written {
            Ok(()) => {
                println!("Gradescope results: {}", json.display());
                ExitCode::SUCCESS
            }
            Err(error) => fail(&format!("{}: {error}", json.display())),
        }
    }

    /// Grades one server command and one client command, in any language, in one run.
    fn grade_commands<'p>(
        &self,
        parts: &[&'p Part],
        server: Option<String>,
        client: Option<String>,
    ) -> Graded<'p> {
        let (has_server, has_client) = (server.is_some(), client.is_some());
        let given = |role: &str| match role {
            "client" => has_client,
            _ => has_server,
        };
        let filters: Vec<String> = parts
            .iter()
            .filter(|p| given(&p.role))
            .flat_map(|p| p.behaviours.iter().map(|(test, _)| test.clone()))
            .collect();
        let mut env = Vec::new();
        env.extend(server.map(|s| ("WEBLAB_SERVER", s)));
        env.extend(client.map(|c| ("WEBLAB_CLIENT", c)));
        let results = self.run(&filters, &env);
        parts
            .iter()
            .map(|part| {
                let results = match given(&part.role) {
                    true => results.clone(),
                    false => Err(format!(
                        "no {0} was given to grade (set WEBLAB_{1})",
                        part.role,
                        part.role.to_uppercase()
                    )),
                };
                (*part, score(part, &results))
            })
            .collect()
    }
}

/// A short name for a folder, the same on every run: a hash of its absolute path.
fn folder_key(folder: &Path) -> String {
    let path = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
    let hash = path
        .to_string_lossy()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{hash:016x}")
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Each behaviour of `part` with its points and outcome; behaviours that did not run
/// (a build that failed, a test that is missing) fail with the reason.
fn score(part: &Part, results: &Result<HashMap<String, Outcome>, String>) -> Vec<Scored> {
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
fn parse_libtest(stdout: &str) -> HashMap<String, Outcome> {
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

fn indent(text: &str, by: &str) -> String {
    text.lines()
        .map(|line| format!("{by}{line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------
// Reports

fn rubric_report(graded: &Graded) -> String {
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

fn gradescope_json(graded: &Graded) -> String {
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

/// Prints hint `number` of `exercises/hints/NN.md`, whose hints are `## ` sections.
fn hint(kit: &Path, exercise: &str, number: usize) -> ExitCode {
    let id = format!("{:0>2}", exercise.trim_start_matches("ex"));
    let path = kit.join("exercises/hints").join(format!("{id}.md"));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) => return fail(&format!("{}: {error}", path.display())),
    };
    let hints: Vec<&str> = text.split("\n## ").skip(1).collect();
    let Some(chosen) = number.checked_sub(1).and_then(|i| hints.get(i)) else {
        return fail(&format!("exercise {id} has hints 1 to {}", hints.len()));
    };
    println!("## {}", chosen.trim_end());
    match number < hints.len() {
        true => println!(
            "\n(hint {number} of {}; the next: make hint EX={id} N={})",
            hints.len(),
            number + 1
        ),
        false => println!("\n(the last hint; the solution is in exercises/solutions/)"),
    }
    ExitCode::SUCCESS
}
