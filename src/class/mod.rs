//! Grading a whole class: every subfolder of a folder is one student's submission, graded
//! side by side, each contained, into one CSV, a report per student and a summary.
//!
//! A submission is either a copy of the kit's `exercises/` folder (Rust crates, built and
//! graded as `grade all --exercises` does) or a program in any language, started through a
//! `WEBLAB_SERVER` / `WEBLAB_CLIENT` template in which `{submission}` stands for the
//! student's folder. Each is graded by a `grade all` of its own, in a fresh copy of its
//! folder, with a time limit, in a process group (Unix) or job object (Windows) that is
//! ended when its grading ends, and, where the system permits, in a private network
//! ([`contain`]). Every program of the student's runs through `grade contain`, which sets
//! the limits of [`contain::Limits`] (`setrlimit` on Unix, a job object of its own on
//! Windows).
//!
//! ```no_run
//! use weblab::class::{find_submissions, grade_class, ClassOptions};
//! # fn parts() -> Vec<weblab::grade::Part> { Vec::new() }
//! let submissions = find_submissions("submissions".as_ref())?;
//! let options = ClassOptions::new("target/debug/grade".into(), "target/grade/class".into());
//! let plan = options.plan();
//! let results = grade_class(&submissions, &parts(), &options, &plan, |_done| {});
//! print!("{}", weblab::class::summary(&results));
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod contain;
mod csv;
mod run;
mod summary;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use csv::class_csv;
pub use run::grade_class;
pub use summary::summary;

/// One student's submission: a folder, named after the student.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// The folder's name, which names the student in the CSV and the reports.
    pub name: String,
    /// The folder as found.
    pub path: PathBuf,
}

/// Every immediate subfolder of `dir` (a link to a folder counts), by name; hidden ones
/// (`.git`, say) are left out.
pub fn find_submissions(dir: &Path) -> std::io::Result<Vec<Submission>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.path().is_dir() {
            continue;
        }
        found.push(Submission {
            name,
            path: entry.path(),
        });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// How a submission is graded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A copy of the kit's `exercises/` folder: the folder that holds the crates.
    Exercises(PathBuf),
    /// A program in any language, started from these templates.
    Program {
        /// The server's template, if there is a server to grade.
        server: Option<String>,
        /// The client's template, if there is a client to grade.
        client: Option<String>,
    },
}

impl Kind {
    /// Whether this is a server that always listens on the same port: a template with no
    /// `{port}`, given a fixed port (not 0, which means it announces the port it got).
    pub fn has_fixed_port(&self, fixed_port: u16) -> bool {
        match self {
            Kind::Program {
                server: Some(server),
                ..
            } => fixed_port != 0 && !server.contains("{port}"),
            _ => false,
        }
    }
}

/// Decides how to grade the submission copied to `copy`: an exercises folder if it holds
/// one of the rubric's crates (itself, or in an `exercises/` folder inside); otherwise a
/// program, started by the templates in its own `WEBLAB_SERVER` / `WEBLAB_CLIENT` files if
/// it has them (one line each, for a class whose students use different languages), else
/// by the class's.
pub fn kind_of(
    copy: &Path,
    parts: &[crate::grade::Part],
    server: Option<&str>,
    client: Option<&str>,
) -> Result<Kind, String> {
    let holds_a_crate = |folder: &Path| {
        parts
            .iter()
            .filter(|p| !p.folder.is_empty())
            .any(|p| folder.join(&p.folder).join("Cargo.toml").is_file())
    };
    for folder in [copy.to_path_buf(), copy.join("exercises")] {
        if holds_a_crate(&folder) {
            return Ok(Kind::Exercises(folder));
        }
    }
    let own = |file: &str| {
        let text = std::fs::read_to_string(copy.join(file)).ok()?;
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))?;
        Some(line.to_string())
    };
    let server = own("WEBLAB_SERVER").or(server.map(String::from));
    let client = own("WEBLAB_CLIENT").or(client.map(String::from));
    if server.is_none() && client.is_none() {
        return Err(
            "not an exercises folder (it holds none of the exercise crates), and there is no \
             WEBLAB_SERVER or WEBLAB_CLIENT template to run it with"
                .into(),
        );
    }
    Ok(Kind::Program { server, client })
}

/// How a class is graded: where things are, how many at once, and the limits.
#[derive(Debug, Clone)]
pub struct ClassOptions {
    /// The `grade` program: each submission is graded by its `grade all`, and each student
    /// program is started through its `grade contain`.
    pub grade: PathBuf,
    /// The folder for each student's copy, results.json and report.txt.
    pub reports: PathBuf,
    /// How many submissions are graded at once.
    pub jobs: usize,
    /// How long one submission's grading may take before it is ended.
    pub time_limit: Duration,
    /// The limits on each process of a student's program.
    pub limits: contain::Limits,
    /// The class's server template (`WEBLAB_SERVER`), for submissions that are programs.
    pub server: Option<String>,
    /// The class's client template (`WEBLAB_CLIENT`).
    pub client: Option<String>,
    /// The port a server whose template has no `{port}` always listens on (`WEBLAB_PORT`).
    pub fixed_port: u16,
    /// As root, the job slots run their programs as users (and groups) from this uid on,
    /// one each: the first ones no process runs as and no other grading holds.
    pub first_uid: u32,
}

/// The port the assignment tells students to hard-wire ("e.g. 12345").
pub const DEFAULT_FIXED_PORT: u16 = 12345;

/// The first uid given to a job slot, when grading as root: above the range of ordinary
/// users (1000 to 59999) and below systemd's dynamic users (from 61184) and nobody (65534).
pub const DEFAULT_FIRST_UID: u32 = 60100;

impl ClassOptions {
    /// The defaults: a job per core, ten minutes per submission, [`contain::Limits`]'s
    /// defaults, no templates, port 12345 for fixed-port servers.
    pub fn new(grade: PathBuf, reports: PathBuf) -> ClassOptions {
        ClassOptions {
            grade,
            reports,
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            time_limit: Duration::from_secs(600),
            limits: contain::Limits::default(),
            server: None,
            client: None,
            fixed_port: DEFAULT_FIXED_PORT,
            first_uid: DEFAULT_FIRST_UID,
        }
    }

    /// What this system permits, decided once before grading starts; as root, it claims
    /// a user for each job slot, for as long as the plan lives.
    pub fn plan(&self) -> Plan {
        let (users, claims) = match contain::is_root() && cfg!(unix) {
            true => claim_users(self.first_uid, self.jobs),
            false => (Vec::new(), Vec::new()),
        };
        Plan {
            private_network: run::private_network_permitted(&self.grade),
            users,
            _claims: claims,
        }
    }
}

/// How many uids past the first one [`claim_users`] tries.
const UIDS_TRIED: u32 = 4096;

/// Claims `count` uids from `first` on, one per job slot: each is skipped if any process
/// runs as it, or if another `grade class` on this machine holds it, and held by a lock on
/// a file named after it (in the system's temporary folder) until the claims are dropped.
/// Without that, two classes graded at once as root would share a uid, and each would end
/// the other's processes when one of its submissions ends.
fn claim_users(first: u32, count: usize) -> (Vec<contain::User>, Vec<std::fs::File>) {
    let (mut users, mut claims) = (Vec::new(), Vec::new());
    for uid in first..first.saturating_add(UIDS_TRIED) {
        if users.len() == count {
            break;
        }
        let path = std::env::temp_dir().join(format!("weblab-grade-uid-{uid}.lock"));
        let Ok(file) = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
        else {
            continue;
        };
        if file.try_lock().is_ok() && contain::processes_of(uid).unwrap_or(0) == 0 {
            users.push(contain::User { uid, gid: uid });
            claims.push(file);
        }
    }
    (users, claims)
}

/// What the system permits for this run.
#[derive(Debug)]
pub struct Plan {
    /// Each submission gets a network namespace of its own (Linux, where permitted), so
    /// fixed-port servers are graded side by side.
    pub private_network: bool,
    /// As root on Unix, a user of its own for each job slot, which runs the student's
    /// programs with a process limit; empty otherwise.
    pub users: Vec<contain::User>,
    /// The locks that keep [`Plan::users`] to this run.
    _claims: Vec<std::fs::File>,
}

impl Plan {
    /// What an instructor should know about this run, one line each.
    pub fn notes(&self, options: &ClassOptions) -> Vec<String> {
        let mut notes = Vec::new();
        match self.private_network {
            true => notes.push(
                "each submission has a private network (its own loopback): fixed-port \
                 servers are graded side by side"
                    .to_string(),
            ),
            false => notes.push(format!(
                "no private networks here: servers with a fixed port ({}) are graded one \
                 server at a time, each start waiting until the port is free again (a server \
                 without SO_REUSEADDR leaves it in TIME_WAIT for up to a minute)",
                options.fixed_port
            )),
        }
        if contain::PROCESS_LIMIT_WITHOUT_ROOT {
            notes.push(format!(
                "each submission's grading runs in a job object, ended with everything in it \
                 when its grading ends; each of its programs in a job of its own, at most {} \
                 processes, {} MiB committed and {} s of CPU each",
                options.limits.processes,
                options.limits.memory_bytes >> 20,
                options.limits.cpu_seconds
            ));
        } else if self.users.is_empty() {
            notes.push(
                "not root: no process-count limit (it would count your own programs too); \
                 grade untrusted code as root or in a container"
                    .to_string(),
            );
        } else {
            let uids: Vec<String> = self.users.iter().map(|u| u.uid.to_string()).collect();
            notes.push(format!(
                "as root: each job slot runs its programs as a user of its own, uids {}, \
                 at most {} processes",
                uids.join(" "),
                options.limits.processes
            ));
        }
        notes
    }
}

/// One student's grade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudentResult {
    /// The submission's folder name.
    pub student: String,
    /// The points earned.
    pub score: u32,
    /// The points there were.
    pub max_score: u32,
    /// Each behaviour of the rubric, in its order: its name, the points earned and the
    /// points it is worth.
    pub behaviours: Vec<(String, u32, u32)>,
    /// Why the submission could not be graded normally (did not build, timed out, ...).
    pub problem: Option<String>,
    /// How long its grading took.
    pub took: Duration,
}

impl StudentResult {
    /// Whether any behaviour failed.
    pub fn lost_points(&self) -> bool {
        self.score < self.max_score
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_gradings_at_once_never_share_a_user() {
        // A range no other test claims.
        let (first, _held) = claim_users(61_010, 2);
        let (second, _also_held) = claim_users(61_010, 2);
        assert_eq!(first.len(), 2, "{first:?}");
        assert_eq!(second.len(), 2, "{second:?}");
        assert!(
            first.iter().all(|user| !second.contains(user)),
            "both claimed one of {first:?} and {second:?}"
        );
        assert!(first
            .iter()
            .chain(&second)
            .all(|u| u.uid >= 61_010 && u.uid == u.gid));
    }
}
