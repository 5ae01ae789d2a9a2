//! `grade`: check a student's exercise, show progress, give hints, or grade a submission.
//!
//! ```text
//! grade check 01          build exercises/01-*, run its behaviours, explain each failure
//! grade progress          which exercises pass
//! grade hint 01 [N]       the Nth hint of exercise 01
//! grade all               every exercise: a rubric on stdout, Gradescope JSON on disk
//! grade class DIR         every submission in DIR: a CSV, a report each, a summary
//! ```
//!
//! The behaviours are the tests of `tests/conformance.rs`; this command runs them with
//! `cargo test` against the student's program (through `WEBLAB_SERVER` or `WEBLAB_CLIENT`)
//! and turns libtest's output into words: each behaviour, passed or failed, and for a
//! failure what was expected, what came back, and which hint helps. Points and hints live
//! in `exercises/rubric.toml`, the registry of behaviours. `check NN` also runs the
//! behaviours of the earlier exercises of the same role, so a regression shows.
//! With `WEBLAB_SERVER` and/or `WEBLAB_CLIENT` set, `grade all` grades that command (in any
//! language) instead of the crates in `exercises/`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand};

#[path = "grade/class.rs"]
mod class;
use weblab::grade::{
    check_report, cumulative, find, gradescope_json, parse_libtest, parse_rubric, pick_hint,
    problems, rubric_report, score, Graded, Outcome, Part, Role, Scored,
};

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
    /// Grade every submission in a folder (one subfolder per student): a CSV, each
    /// student's results.json and report, and a summary
    Class(class::ClassArgs),
    /// Run a program under grading's limits (used by `grade class`)
    #[command(hide = true)]
    Contain(class::ContainArgs),
}

fn main() -> ExitCode {
    let args = Args::parse();
    let kit = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rubric = match read_rubric(kit) {
        Ok(rubric) => rubric,
        Err(why) => return fail(&why),
    };
    let exercises = args.exercises.unwrap_or_else(|| kit.join("exercises"));
    let grader = Grader {
        kit,
        exercises: &exercises,
    };
    match args.action {
        Action::Check { exercise, quiet } => match find(&rubric, &exercise) {
            Some(part) => grader.check(&rubric, part, quiet),
            None => fail(&format!("no exercise {exercise} in exercises/rubric.toml")),
        },
        Action::Progress => grader.progress(&rubric),
        Action::Hint { exercise, number } => hint(kit, &exercise, number),
        Action::All { json } => grader.grade_all(&rubric, &json),
        Action::Class(args) => class::grade_class(kit, &rubric, args),
        Action::Contain(args) => class::contain(args),
    }
}

/// The registry of behaviours, checked against the suite it grades: a behaviour that is
/// not a test, or has no points or no hint, is an error here rather than a mystery later.
fn read_rubric(kit: &Path) -> Result<Vec<Part>, String> {
    let text = std::fs::read_to_string(kit.join("exercises/rubric.toml"))
        .map_err(|e| format!("exercises/rubric.toml: {e}"))?;
    let rubric = parse_rubric(&text)?;
    let suite = std::fs::read_to_string(kit.join("tests/conformance.rs"))
        .map_err(|e| format!("tests/conformance.rs: {e}"))?;
    let hints = |id: &str| {
        std::fs::read_to_string(kit.join(format!("exercises/hints/{id}.md")))
            .map_or(0, |t| t.split("\n## ").count() - 1)
    };
    let found = problems(&rubric, &suite, hints);
    match found.is_empty() {
        true => Ok(rubric),
        false => Err(format!(
            "exercises/rubric.toml does not match the suite:\n  {}",
            found.join("\n  ")
        )),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("grade: {message}");
    ExitCode::from(2)
}

// ---------------------------------------------------------------------------------------
// Running the behaviours

struct Grader<'a> {
    kit: &'a Path,
    exercises: &'a Path,
}

impl Grader<'_> {
    /// Builds an exercise's crate where `cargo run` in its folder builds it (its own
    /// `target/`), and returns the program's path.
    fn build(&self, part: &Part) -> Result<PathBuf, String> {
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
        // The crate's own target folder, as `cargo run` there uses: the program tested is
        // the one the student runs. (CARGO_TARGET_DIR would move it, so it is said here.)
        let target = folder.join("target");
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
        Ok(target
            .join("debug")
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX)))
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

    /// Builds exercise `part` and runs the behaviours of `parts` against its program:
    /// each part's scored behaviours, and the program tested (or why none was).
    fn outcomes<'p>(&self, part: &Part, parts: &[&'p Part]) -> (Graded<'p>, String) {
        let program = self.build(part);
        let tested = match &program {
            Ok(path) => format!(
                "{} (built from {})",
                path.display(),
                self.exercises.join(&part.folder).display()
            ),
            Err(_) => format!("nothing: {} did not build", part.folder),
        };
        let results = program.and_then(|path| {
            let command = format!("\"{}\" {}", path.display(), part.role.arguments());
            let filters: Vec<String> = parts.iter().map(|p| format!("ex{}_", p.id)).collect();
            self.run(&filters, &[(part.role.variable(), command)])
        });
        let graded = parts.iter().map(|p| (*p, score(p, &results))).collect();
        (graded, tested)
    }

    fn check(&self, rubric: &[Part], part: &Part, quiet: bool) -> ExitCode {
        let parts = cumulative(rubric, part);
        let (checked, tested) = self.outcomes(part, &parts);
        print!("{}", check_report(part, &checked, &tested, quiet));
        let all_passed = checked
            .iter()
            .all(|(_, outcomes)| outcomes.iter().all(|(_, _, o)| o.passed));
        match all_passed {
            true => ExitCode::SUCCESS,
            false => ExitCode::from(1),
        }
    }

    fn progress(&self, rubric: &[Part]) -> ExitCode {
        for part in rubric.iter().filter(|p| !p.folder.is_empty()) {
            let (graded, _) = self.outcomes(part, &cumulative(rubric, part));
            let outcomes: Vec<&Scored> = graded.iter().flat_map(|(_, o)| o.iter()).collect();
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
            parts
                .iter()
                .flat_map(|p| self.outcomes(p, &[*p]).0)
                .collect()
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
        let given = |role: Role| match role {
            Role::Client => has_client,
            Role::Server => has_server,
        };
        let filters: Vec<String> = parts
            .iter()
            .filter(|p| given(p.role))
            .flat_map(|p| p.behaviours.iter().map(|b| b.name.clone()))
            .collect();
        let mut env = Vec::new();
        env.extend(server.map(|s| ("WEBLAB_SERVER", s)));
        env.extend(client.map(|c| ("WEBLAB_CLIENT", c)));
        let results = self.run(&filters, &env);
        parts
            .iter()
            .map(|part| {
                let results = match given(part.role) {
                    true => results.clone(),
                    false => Err(format!(
                        "no {} was given to grade (set {})",
                        part.role,
                        part.role.variable()
                    )),
                };
                (*part, score(part, &results))
            })
            .collect()
    }
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

// ---------------------------------------------------------------------------------------
// Hints

/// Prints hint `number` of `exercises/hints/NN.md`.
fn hint(kit: &Path, exercise: &str, number: usize) -> ExitCode {
    let id = format!("{:0>2}", exercise.trim_start_matches("ex"));
    let path = kit.join("exercises/hints").join(format!("{id}.md"));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) => return fail(&format!("{}: {error}", path.display())),
    };
    match pick_hint(&text, &id, number) {
        Ok(hint) => {
            println!("{hint}");
            ExitCode::SUCCESS
        }
        Err(why) => fail(&why),
    }
}
