//! Grading the submissions side by side: a worker per job slot takes the next submission,
//! copies it, grades it with `grade all` under [`super::contain`], and reads back its
//! results.json.

use std::collections::VecDeque;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::contain::{self, ProcessTree, User};
use super::{kind_of, ClassOptions, Kind, Plan, StudentResult, Submission};
use crate::grade::{gradescope_json, in_words, indent, rubric_report, score, Graded, Part};

/// Grades every submission, `options.jobs` at a time, calling `done` with each student's
/// result as it is ready (from the calling thread). Returns the results in the order of
/// `submissions`. One submission's failure to build, crash or hang is its own result and
/// never stops the others.
pub fn grade_class(
    submissions: &[Submission],
    parts: &[Part],
    options: &ClassOptions,
    plan: &Plan,
    mut done: impl FnMut(&StudentResult),
) -> Vec<StudentResult> {
    let queue = Arc::new(Mutex::new(
        submissions
            .iter()
            .cloned()
            .enumerate()
            .collect::<VecDeque<_>>(),
    ));
    // Without private networks, servers on a fixed port take turns.
    let fixed_port_turn = Arc::new(Mutex::new(()));
    let (results, finished) = mpsc::channel();
    let mut jobs = options.jobs.clamp(1, submissions.len().max(1));
    if !plan.users.is_empty() {
        jobs = jobs.min(plan.users.len()); // a slot runs as root only if it has a user
    }
    std::thread::scope(|scope| {
        for slot in 0..jobs {
            let (queue, turn, results) = (queue.clone(), fixed_port_turn.clone(), results.clone());
            let user = plan.users.get(slot).copied();
            scope.spawn(move || loop {
                let next = queue.lock().map(|mut q| q.pop_front()).ok().flatten();
                let Some((index, submission)) = next else {
                    return;
                };
                let job = Job {
                    submission: &submission,
                    parts,
                    options,
                    plan,
                    user,
                    fixed_port_turn: &turn,
                };
                if results.send((index, job.grade())).is_err() {
                    return;
                }
            });
        }
        drop(results);
        let mut graded: Vec<Option<StudentResult>> = vec![None; submissions.len()];
        for (index, result) in finished {
            done(&result);
            graded[index] = Some(result);
        }
        graded.into_iter().flatten().collect()
    })
}

/// How long a slot's ended processes may take to be reaped before the next submission.
const REAPING_PATIENCE: Duration = Duration::from_secs(10);

/// One submission being graded in one job slot.
struct Job<'a> {
    submission: &'a Submission,
    parts: &'a [Part],
    options: &'a ClassOptions,
    plan: &'a Plan,
    user: Option<User>,
    fixed_port_turn: &'a Mutex<()>,
}

/// How a grading run ended, when it did not end by itself with results.
enum Ending {
    Finished(std::process::ExitStatus),
    TimedOut,
    NotStarted(String),
}

impl Job<'_> {
    fn grade(&self) -> StudentResult {
        let started = Instant::now();
        let folder = self.options.reports.join(&self.submission.name);
        let copy = folder.join("submission");
        let results = folder.join("results.json");
        let (output, errors) = (
            folder.join("grade-output.txt"),
            folder.join("grade-errors.txt"),
        );
        for stale in [&results, &output, &errors] {
            let _ = std::fs::remove_file(stale);
        }
        let _ = std::fs::remove_dir_all(&copy);
        let prepared = std::fs::create_dir_all(&folder)
            .and_then(|()| copy_submission(&self.submission.path, &copy))
            .map_err(|e| format!("cannot copy the submission: {e}"))
            .and_then(|()| self.give_to_user(&copy))
            .and_then(|()| {
                kind_of(
                    &copy,
                    self.parts,
                    self.options.server.as_deref(),
                    self.options.client.as_deref(),
                )
            });
        let ending = match &prepared {
            Ok(kind) => {
                // Without private networks, one fixed-port submission at a time; its time
                // limit starts once it has its turn.
                let _turn = (kind.has_fixed_port(self.options.fixed_port)
                    && !self.plan.private_network)
                    .then(|| self.fixed_port_turn.lock());
                self.run_grade_all(kind, &copy, &results, &output, &errors)
            }
            Err(why) => Ending::NotStarted(why.clone()),
        };
        self.wait_until_the_slot_is_empty();
        let problem = match ending {
            Ending::Finished(_) if results.is_file() => None,
            Ending::Finished(status) => Some(format!(
                "grading stopped ({status}) before it wrote results{}",
                tail(&errors)
            )),
            Ending::TimedOut => Some(format!(
                "grading took longer than the time limit ({} s) and was ended",
                self.options.time_limit.as_secs()
            )),
            Ending::NotStarted(why) => Some(why),
        };
        let graded = match &problem {
            None => read_results(&results, self.parts),
            Some(why) => Err(why.clone()),
        };
        let graded = graded.unwrap_or_else(|why| {
            // No results of its own: every behaviour fails, with the reason.
            let graded: Graded = self
                .parts
                .iter()
                .map(|p| (p, score(p, &Err(why.clone()))))
                .collect();
            let _ = std::fs::write(&results, gradescope_json(&graded));
            graded
        });
        let result = student_result(&self.submission.name, &graded, problem, started.elapsed());
        let _ = std::fs::write(
            folder.join("report.txt"),
            self.report(&result, &graded, &errors),
        );
        result
    }

    /// As root, the copy belongs to the slot's user, so the student's program may write in
    /// its own folder and nowhere else of the grader's.
    fn give_to_user(&self, copy: &Path) -> Result<(), String> {
        #[cfg(unix)]
        if let Some(user) = self.user {
            return chown_tree(copy, user).map_err(|e| format!("cannot hand the copy over: {e}"));
        }
        let _ = copy;
        Ok(())
    }

    /// Runs `grade all` on the copy, contained, and waits for it at most the time limit.
    fn run_grade_all(
        &self,
        kind: &Kind,
        copy: &Path,
        results: &Path,
        output: &Path,
        errors: &Path,
    ) -> Ending {
        let files =
            std::fs::File::create(output).and_then(|o| Ok((o, std::fs::File::create(errors)?)));
        let Ok((output, errors)) = files else {
            return Ending::NotStarted("cannot write its report".into());
        };
        let mut command = Command::new(&self.options.grade);
        command
            .args(["all", "--json"])
            .arg(results)
            .env_remove("WEBLAB_SERVER")
            .env_remove("WEBLAB_CLIENT")
            .env("WEBLAB_SUBMISSION", copy)
            .env("WEBLAB_PORT", self.options.fixed_port.to_string())
            .env("WEBLAB_CONTAIN", self.contain_prefix())
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(errors);
        match kind {
            Kind::Exercises(folder) => {
                command.arg("--exercises").arg(folder);
            }
            Kind::Program { server, client } => {
                for (variable, template) in [("WEBLAB_SERVER", server), ("WEBLAB_CLIENT", client)] {
                    if let Some(template) = template {
                        command.env(variable, template);
                    }
                }
            }
        }
        isolate(&mut command, self.plan.private_network);
        let (child, tree) = match ProcessTree::spawn(&mut command) {
            Ok(started) => started,
            Err(e) => return Ending::NotStarted(format!("cannot start grade all: {e}")),
        };
        let ending = wait_at_most(child, &tree, self.options.time_limit);
        // Whatever it left running ends with it: its process group (Unix) or job (Windows),
        // and (as root) every process of the slot's user, even one that left the group.
        tree.end();
        if let Some(user) = self.user {
            end_every_process_of(&self.options.grade, user);
        }
        ending
    }

    /// Waits, at most [`REAPING_PATIENCE`], until the slot's user has no process left,
    /// not even a zombie: the next submission in this slot starts with its whole process
    /// limit. Ended processes whose parent has gone are reaped by the system's init, in
    /// its own time, and nothing announces it: so this polls, every 50 ms.
    fn wait_until_the_slot_is_empty(&self) {
        let Some(user) = self.user else { return };
        let started = Instant::now();
        while contain::processes_of(user.uid).is_some_and(|n| n > 0)
            && started.elapsed() < REAPING_PATIENCE
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The words put before each student program: `grade contain` with the limits.
    fn contain_prefix(&self) -> String {
        contain_prefix(
            &self.options.grade,
            &self.options.limits,
            self.user,
            contain::PROCESS_LIMIT_WITHOUT_ROOT,
        )
    }

    /// The student's report: the score, any problem, the rubric, and under it what went
    /// wrong in each failed behaviour.
    fn report(&self, result: &StudentResult, graded: &Graded, errors: &Path) -> String {
        let mut report = format!(
            "student: {}\nscore: {}/{}\ngraded in {:.1} s\n",
            result.student,
            result.score,
            result.max_score,
            result.took.as_secs_f64()
        );
        if let Some(problem) = &result.problem {
            report += &format!("problem: {problem}\n");
        }
        report.push('\n');
        report += &rubric_report(graded);
        let failed: Vec<_> = graded
            .iter()
            .flat_map(|(_, scored)| scored)
            .filter(|(_, _, outcome)| !outcome.passed)
            .collect();
        if !failed.is_empty() && result.problem.is_none() {
            report += "\nWhat went wrong:\n";
            for (name, _, outcome) in failed {
                report += &format!(
                    "\n  FAIL  {}\n{}\n",
                    in_words(name),
                    indent(&outcome.output, "        ")
                );
            }
        }
        let stderr = tail(errors);
        if result.problem.is_none() && !stderr.is_empty() {
            report += &format!("\nThe grader's errors{stderr}\n");
        }
        report
    }
}

/// The words put before each student program: `grade` at `grade`, `contain`, the limits,
/// and `--`. The process limit goes along when `user` is given (Unix, as root) or when it
/// holds without one (`processes_without_root`, Windows); the user only when given.
fn contain_prefix(
    grade: &Path,
    limits: &contain::Limits,
    user: Option<User>,
    processes_without_root: bool,
) -> String {
    let mut prefix = format!(
        "\"{}\" contain --cpu {} --memory {}",
        grade.display(),
        limits.cpu_seconds,
        limits.memory_bytes
    );
    if user.is_some() || processes_without_root {
        prefix += &format!(" --processes {}", limits.processes);
    }
    if let Some(user) = user {
        prefix += &format!(" --uid {} --gid {}", user.uid, user.gid);
    }
    prefix + " --"
}

/// Starts `command`, when asked and permitted, in a private network (Linux).
fn isolate(command: &mut Command, private_network: bool) {
    #[cfg(target_os = "linux")]
    if private_network {
        use std::os::unix::process::CommandExt;
        let network = contain::PrivateNetwork::prepare();
        // SAFETY: the closure runs between fork and exec and calls only unshare, open,
        // write, close, socket and ioctl, allocating nothing.
        unsafe {
            command.pre_exec(move || contain::enter_private_network(&network));
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (command, private_network);
}

/// Whether a child may be given a private network here: tried once, on `grade help`.
pub(super) fn private_network_permitted(grade: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        let mut probe = Command::new(grade);
        probe
            .arg("help")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        isolate(&mut probe, true);
        probe.status().is_ok_and(|s| s.success())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = grade;
        false
    }
}

/// Waits for `child` at most `limit`; past it, ends its whole `tree`.
fn wait_at_most(mut child: std::process::Child, tree: &ProcessTree, limit: Duration) -> Ending {
    let (exited, exit) = mpsc::channel();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let _ = exited.send(child.wait());
        });
        match exit.recv_timeout(limit) {
            Ok(Ok(status)) => Ending::Finished(status),
            Ok(Err(e)) => Ending::NotStarted(format!("cannot wait for grade all: {e}")),
            Err(_) => {
                tree.end();
                let _ = exit.recv();
                Ending::TimedOut
            }
        }
    })
}

/// Ends every process of `user` by running `grade contain --end-all` as that user.
fn end_every_process_of(grade: &Path, user: User) {
    let _ = Command::new(grade)
        .args(["contain", "--end-all", "--uid"])
        .arg(user.uid.to_string())
        .arg("--gid")
        .arg(user.gid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Copies the folder `from` to `to`, leaving out Rust build output (a `target` folder
/// beside a `Cargo.toml`). Links are copied as links on Unix and left out elsewhere.
fn copy_submission(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    let is_crate = from.join("Cargo.toml").is_file();
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if !(is_crate && entry.file_name() == "target") {
                copy_submission(&source, &target)?;
            }
        } else if kind.is_symlink() {
            #[cfg(unix)]
            std::os::unix::fs::symlink(std::fs::read_link(&source)?, &target)?;
        } else {
            std::fs::copy(&source, &target)?;
        }
    }
    Ok(())
}

/// Gives the folder `dir` and everything in it to `user`.
#[cfg(unix)]
fn chown_tree(dir: &Path, user: User) -> std::io::Result<()> {
    std::os::unix::fs::lchown(dir, Some(user.uid), Some(user.gid))?;
    if std::fs::symlink_metadata(dir)?.is_dir() {
        for entry in std::fs::read_dir(dir)? {
            chown_tree(&entry?.path(), user)?;
        }
    }
    Ok(())
}

/// The last lines of a file, after a blank line, or nothing.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let last = lines[lines.len().saturating_sub(20)..].join("\n");
    match last.trim().is_empty() {
        true => String::new(),
        false => format!(":\n\n{last}"),
    }
}

/// Reads a results.json that `grade all` wrote: each rubric behaviour's outcome by name.
fn read_results<'p>(path: &Path, parts: &'p [Part]) -> Result<Graded<'p>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read results: {e}"))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("unreadable results.json: {e}"))?;
    let tests = json["tests"]
        .as_array()
        .ok_or("results.json has no tests")?;
    let outcomes = tests
        .iter()
        .filter_map(|t| {
            let name = t["name"].as_str()?.to_string();
            let passed = t["status"].as_str() == Some("passed");
            let output = t["output"].as_str().unwrap_or_default().to_string();
            Some((name, crate::grade::Outcome { passed, output }))
        })
        .collect();
    let outcomes = Ok(outcomes);
    Ok(parts.iter().map(|p| (p, score(p, &outcomes))).collect())
}

/// A student's result from the graded rubric.
fn student_result(
    student: &str,
    graded: &Graded,
    problem: Option<String>,
    took: Duration,
) -> StudentResult {
    let behaviours: Vec<(String, u32, u32)> = graded
        .iter()
        .flat_map(|(_, scored)| scored.iter())
        .map(|(name, points, outcome)| {
            let earned = if outcome.passed { *points } else { 0 };
            (name.clone(), earned, *points)
        })
        .collect();
    StudentResult {
        student: student.to_string(),
        score: behaviours.iter().map(|b| b.1).sum(),
        max_score: behaviours.iter().map(|b| b.2).sum(),
        behaviours,
        problem,
        took,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_student_program_is_started_through_grade_contain_with_the_limits() {
        let limits = contain::Limits {
            cpu_seconds: 7,
            memory_bytes: 1 << 30,
            processes: 32,
        };
        let grade = Path::new("/kit/grade");
        let user = User {
            uid: 60101,
            gid: 60101,
        };
        let cases = [
            // Unix, an ordinary user: no process limit (it would count the user's own).
            (
                None,
                false,
                "\"/kit/grade\" contain --cpu 7 --memory 1073741824 --",
            ),
            // Unix, as root: the slot's user, whose processes the limit counts.
            (
                Some(user),
                false,
                "\"/kit/grade\" contain --cpu 7 --memory 1073741824 --processes 32 \
                 --uid 60101 --gid 60101 --",
            ),
            // Windows: no users, and each program's job counts its processes.
            (
                None,
                true,
                "\"/kit/grade\" contain --cpu 7 --memory 1073741824 --processes 32 --",
            ),
        ];
        for (user, processes_without_root, expected) in cases {
            assert_eq!(
                contain_prefix(grade, &limits, user, processes_without_root),
                expected,
                "user {user:?}, process limit without root: {processes_without_root}"
            );
        }
    }

    #[test]
    fn a_copy_leaves_out_a_crates_build_output_only() {
        let from = tempfile::tempdir().expect("a folder");
        let to = tempfile::tempdir().expect("a folder");
        for file in [
            "Cargo.toml",
            "src/main.rs",
            "target/debug/big",
            "data/target/keep",
        ] {
            let path = from.path().join(file);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("folders");
            std::fs::write(&path, file).expect("a file");
        }
        copy_submission(from.path(), &to.path().join("copy")).expect("copied");
        let copied = |file: &str| to.path().join("copy").join(file).is_file();
        assert!(copied("Cargo.toml") && copied("src/main.rs") && copied("data/target/keep"));
        assert!(
            !copied("target/debug/big"),
            "the crate's target/ was copied"
        );
    }
}
