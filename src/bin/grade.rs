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
//! failure what was expected and what came back. Points live in `exercises/rubric.toml`.
//! With `WEBLAB_SERVER` and/or `WEBLAB_CLIENT` set, `grade all` grades that command (in any
//! language) instead of the crates in `exercises/`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand};

#[path = "grade/class.rs"]
mod class;
use weblab::grade::{
    find, gradescope_json, in_words, indent, parse_libtest, parse_rubric, pick_hint, rubric_report,
    score, Graded, Outcome, Part, Scored,
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
        Action::Class(args) => class::grade_class(kit, &rubric, args),
        Action::Contain(args) => class::contain(args),
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

/// A short name for a folder, the same on every run of this build of the grader: a hash
/// of its absolute path.
fn folder_key(folder: &Path) -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let path = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
    let mut hasher = DefaultHasher::new(); // fixed keys: the same hash every time
    path.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
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
