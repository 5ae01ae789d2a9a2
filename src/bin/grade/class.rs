//! `grade class DIR`: the command line of [`weblab::class`], with its progress bar; and
//! `grade contain`, which `grade class` puts in front of every student program it starts.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use weblab::class::{self as grading, contain, ClassOptions};
use weblab::grade::Part;

/// `grade class`'s options.
#[derive(clap::Args)]
pub struct ClassArgs {
    /// The folder of submissions: each subfolder is one student's
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Where to write the CSV
    #[arg(long, default_value = "target/grade/class.csv", value_name = "FILE")]
    csv: PathBuf,
    /// Where each student's copy, results.json and report.txt go
    #[arg(long, default_value = "target/grade/class", value_name = "DIR")]
    reports: PathBuf,
    /// How many submissions to grade at once (default: the number of cores)
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// How long one submission's grading may take before it is ended
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    time_limit: u64,
    /// CPU seconds each process of a student's program may use (on Windows, user-mode time)
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    cpu: u64,
    /// Address space each process of a student's program may map, in MiB (on Windows,
    /// memory committed; macOS does not enforce it)
    #[arg(long, default_value_t = 4096, value_name = "MIB")]
    memory: u64,
    /// Processes a submission may run at once: on Unix as root (processes and threads of
    /// the slot's user), on Windows always (processes in each program's job)
    #[arg(long, default_value_t = 256, value_name = "N")]
    processes: u64,
    /// As root, the job slots run their programs as users from this uid on, one each
    #[arg(long, default_value_t = grading::DEFAULT_FIRST_UID, value_name = "UID")]
    first_uid: u32,
}

/// `grade contain`'s options: the limits, the user (Unix), and the program. On Unix the
/// program replaces `grade contain` under the limits; on Windows `grade contain` puts it in
/// a job object with the limits and waits for it.
#[derive(clap::Args)]
pub struct ContainArgs {
    #[arg(long, default_value_t = 60)]
    cpu: u64,
    #[arg(long, default_value_t = 4 << 30)]
    memory: u64,
    #[arg(long, default_value_t = 256)]
    processes: u64,
    #[arg(long, requires = "gid")]
    uid: Option<u32>,
    #[arg(long, requires = "uid")]
    gid: Option<u32>,
    /// End every process of --uid instead of running a program
    #[arg(long, requires = "uid")]
    end_all: bool,
    /// The program and its arguments
    #[arg(last = true)]
    command: Vec<OsString>,
}

/// Grades every submission in `args.dir`, with a progress bar; writes the CSV and prints
/// the summary.
pub fn grade_class(kit: &Path, rubric: &[Part], args: ClassArgs) -> ExitCode {
    let submissions = match grading::find_submissions(&args.dir) {
        Ok(found) if !found.is_empty() => found,
        Ok(_) => {
            return usage(&format!(
                "{}: no submission folders in it",
                args.dir.display()
            ))
        }
        Err(error) => return usage(&format!("{}: {error}", args.dir.display())),
    };
    let private = std::env::var_os("WEBLAB_PRIVATE_TESTS").is_some();
    let parts: Vec<Part> = rubric
        .iter()
        .filter(|p| !p.folder.is_empty() || private)
        .cloned()
        .collect();
    let (Ok(grade), Ok(reports)) = (std::env::current_exe(), std::path::absolute(&args.reports))
    else {
        return usage("cannot find this program or the reports folder");
    };
    let mut options = ClassOptions::new(grade, reports);
    options.jobs = args.jobs.unwrap_or(options.jobs).max(1);
    options.time_limit = Duration::from_secs(args.time_limit);
    options.limits = contain::Limits {
        cpu_seconds: args.cpu,
        memory_bytes: args.memory << 20,
        processes: args.processes,
    };
    options.server = std::env::var("WEBLAB_SERVER").ok();
    options.client = std::env::var("WEBLAB_CLIENT").ok();
    options.first_uid = args.first_uid;
    if let Ok(port) = std::env::var("WEBLAB_PORT") {
        match port.parse() {
            Ok(port) => options.fixed_port = port,
            Err(_) => return usage(&format!("WEBLAB_PORT={port} is not a port number")),
        }
    }
    // Build the behaviour suite once, before the jobs start: each job's `cargo test` then
    // only runs it.
    let built = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(kit)
        .args(["test", "--quiet", "--test", "conformance", "--no-run"])
        .status();
    if !built.is_ok_and(|s| s.success()) {
        eprintln!("grade: cannot build the behaviour suite (cargo test --test conformance)");
        return ExitCode::from(1);
    }
    let mut plan = options.plan();
    // To try the other path where private networks work: WEBLAB_PRIVATE_NETWORK=off.
    if std::env::var("WEBLAB_PRIVATE_NETWORK").is_ok_and(|v| v == "off") {
        plan.private_network = false;
    }
    println!(
        "weblab grade class: {} submissions in {}, {} at a time",
        submissions.len(),
        args.dir.display(),
        options.jobs
    );
    for note in plan.notes(&options) {
        println!("  {note}");
    }
    println!();

    let bar = ProgressBar::new(submissions.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} graded · {msg} · {eta} left")
            .expect("a valid template"),
    );
    let (mut lost, mut problems) = (0, 0);
    bar.set_message("0 with failures");
    let results = grading::grade_class(&submissions, &parts, &options, &plan, |result| {
        lost += usize::from(result.lost_points());
        problems += usize::from(result.problem.is_some());
        bar.set_message(format!(
            "{lost} with failures, {problems} not graded normally"
        ));
        bar.inc(1);
    });
    bar.finish_and_clear();

    print!("{}", grading::summary(&results));
    let written = std::fs::create_dir_all(args.csv.parent().unwrap_or(Path::new(".")))
        .and_then(|()| std::fs::write(&args.csv, grading::class_csv(&results)));
    if let Err(error) = written {
        eprintln!("grade: {}: {error}", args.csv.display());
        return ExitCode::from(1);
    }
    println!("\nCSV: {}", args.csv.display());
    println!(
        "Each student's results.json and report.txt: {}/STUDENT/",
        args.reports.display()
    );
    ExitCode::SUCCESS
}

/// Runs a program under the limits (`grade contain [LIMITS] -- PROGRAM ARGS`), or ends
/// every process of a user (`--end-all`).
pub fn contain(args: ContainArgs) -> ExitCode {
    #[cfg(unix)]
    {
        let user = args
            .uid
            .zip(args.gid)
            .map(|(uid, gid)| contain::User { uid, gid });
        if args.end_all {
            let ended = user
                .ok_or(std::io::ErrorKind::InvalidInput.into())
                .and_then(contain::become_user)
                .and_then(|()| contain::end_every_process_of_this_user());
            return match ended {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => usage(&format!("cannot end the processes of {user:?}: {error}")),
            };
        }
        let limits = contain::Limits {
            cpu_seconds: args.cpu,
            memory_bytes: args.memory,
            processes: args.processes,
        };
        let Some((program, rest)) = args.command.split_first() else {
            return usage("contain: no program given after --");
        };
        let error = contain::exec_contained(&limits, user, program, rest);
        eprintln!(
            "grade contain: cannot run {}: {error}",
            program.to_string_lossy()
        );
        ExitCode::from(127)
    }
    #[cfg(windows)]
    {
        // No users on Windows: each program's job holds the process limit instead.
        if args.end_all || args.uid.is_some() {
            return usage("contain: --uid and --end-all are for Unix");
        }
        let limits = contain::Limits {
            cpu_seconds: args.cpu,
            memory_bytes: args.memory,
            processes: args.processes,
        };
        let Some((program, rest)) = args.command.split_first() else {
            return usage("contain: no program given after --");
        };
        match contain::run_contained(&limits, program, rest) {
            // The program's own exit code, as `exec` leaves it on Unix. Windows exit codes
            // are 32 bits; ExitCode holds 8, so `exit` passes it on whole.
            Ok(status) => std::process::exit(status.code().unwrap_or(1)),
            Err(error) => {
                eprintln!(
                    "grade contain: cannot run {}: {error}",
                    program.to_string_lossy()
                );
                ExitCode::from(127)
            }
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = args;
        usage("contain: limits are set on Unix and Windows only")
    }
}

fn usage(message: &str) -> ExitCode {
    eprintln!("grade: {message}");
    ExitCode::from(2)
}
