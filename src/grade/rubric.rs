//! The registry of behaviours: `exercises/rubric.toml`, read into [`Part`]s of
//! [`Behaviour`]s, and the checks that keep it true to the suite.

use std::fmt;
use std::str::FromStr;

/// Which program a part's behaviours test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A server: `PROGRAM PORT ROOT`, through `WEBLAB_SERVER`.
    Server,
    /// A client: `PROGRAM HOST PORT PATH`, through `WEBLAB_CLIENT`.
    Client,
}

impl Role {
    /// The environment variable that names the command to test in this role.
    pub fn variable(self) -> &'static str {
        match self {
            Role::Server => "WEBLAB_SERVER",
            Role::Client => "WEBLAB_CLIENT",
        }
    }

    /// The arguments of a program in this role, as a command template's tail.
    pub fn arguments(self) -> &'static str {
        match self {
            Role::Server => "{port} {root}",
            Role::Client => "{host} {port} {path}",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Server => "server",
            Role::Client => "client",
        })
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Role, String> {
        match text {
            "server" => Ok(Role::Server),
            "client" => Ok(Role::Client),
            other => Err(format!(
                "unknown role \"{other}\" (a role is \"server\" or \"client\")"
            )),
        }
    }
}

/// One behaviour: a test of `tests/conformance.rs`, its points, its hint and its lesson.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Behaviour {
    /// The test's name, `exNN_...`.
    pub name: String,
    /// The points it earns when it passes.
    pub points: u32,
    /// The number of the hint (in `exercises/hints/NN.md`) that helps with it; 0 for none.
    pub hint: usize,
    /// What it teaches, in a few words.
    pub teaches: String,
}

/// One part of the rubric: an exercise (or the private cases) and its behaviours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The exercise's number as the rubric writes it (`01`), or `private`.
    pub id: String,
    /// What the exercise builds, in a few words.
    pub title: String,
    /// Which task of the assignment it belongs to (`Task 1`, `Beyond`).
    pub task: String,
    /// The exercise's crate under `exercises/`; empty for a part with no crate.
    pub folder: String,
    /// Which program its behaviours test.
    pub role: Role,
    /// Its behaviours, in the order they are reported.
    pub behaviours: Vec<Behaviour>,
}

impl Part {
    /// The exercise's number, for ordering (`None` for `private`).
    pub fn number(&self) -> Option<u32> {
        self.id.parse().ok()
    }
}

/// Reads the small subset of TOML the rubric uses: `[id]` sections of `key = value` lines,
/// where a behaviour's value is `{ points = N, hint = H, teaches = "..." }` (or just `N`).
/// Any line it cannot read, or an unknown role, is an error naming the line.
pub fn parse_rubric(text: &str) -> Result<Vec<Part>, String> {
    let mut parts: Vec<(Part, Option<String>)> = Vec::new();
    for (number, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
        let at = |why: String| format!("exercises/rubric.toml, line {number}: {why}");
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(id) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let part = Part {
                id: id.to_string(),
                title: String::new(),
                task: String::new(),
                folder: String::new(),
                role: Role::Server,
                behaviours: Vec::new(),
            };
            parts.push((part, None));
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(at(format!("expected `key = value`, found {line:?}")));
        };
        let Some((part, role)) = parts.last_mut() else {
            return Err(at("a key before the first [section]".into()));
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "title" => part.title = string(value).map_err(at)?,
            "task" => part.task = string(value).map_err(at)?,
            "folder" => part.folder = string(value).map_err(at)?,
            "role" => {
                let text = string(value).map_err(at)?;
                part.role = text.parse().map_err(at)?;
                *role = Some(text);
            }
            name => part.behaviours.push(behaviour(name, value).map_err(at)?),
        }
    }
    parts
        .into_iter()
        .map(|(part, role)| match role {
            Some(_) => Ok(part),
            None => Err(format!(
                "exercises/rubric.toml: [{}] has no role (\"server\" or \"client\")",
                part.id
            )),
        })
        .collect()
}

/// A behaviour's line: `{ points = 3, hint = 2, teaches = "..." }`, or just the points.
fn behaviour(name: &str, value: &str) -> Result<Behaviour, String> {
    let mut behaviour = Behaviour {
        name: name.to_string(),
        points: 0,
        hint: 0,
        teaches: String::new(),
    };
    let Some(fields) = value.strip_prefix('{').and_then(|v| v.strip_suffix('}')) else {
        behaviour.points = number(name, "points", value)?;
        return Ok(behaviour);
    };
    let mut rest = fields.trim();
    while !rest.is_empty() {
        let (key, tail) = rest
            .split_once('=')
            .ok_or_else(|| format!("{name}: expected `key = value` in {value}"))?;
        let tail = tail.trim_start();
        let (field, tail) = match tail.strip_prefix('"') {
            Some(quoted) => {
                let end = closing_quote(quoted)
                    .ok_or_else(|| format!("{name}: a string with no closing quote"))?;
                (&tail[..end + 2], &quoted[end + 1..])
            }
            None => tail.split_once(',').map_or((tail, ""), |(f, t)| (f, t)),
        };
        match key.trim() {
            "points" => behaviour.points = number(name, "points", field.trim())?,
            "hint" => behaviour.hint = number(name, "hint", field.trim())? as usize,
            "teaches" => behaviour.teaches = string(field.trim())?,
            other => return Err(format!("{name}: unknown field `{other}`")),
        }
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    Ok(behaviour)
}

/// Where the string that `text` continues ends: the index of its closing quote.
fn closing_quote(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => return Some(i),
            _ => {}
        }
    }
    None
}

fn number(name: &str, field: &str, text: &str) -> Result<u32, String> {
    text.parse()
        .map_err(|_| format!("{name}: {field} must be a whole number, not {text:?}"))
}

/// A TOML basic string's text, `"..."` with `\\` and `\"` escapes.
fn string(value: &str) -> Result<String, String> {
    let inner = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .ok_or_else(|| format!("expected a \"quoted string\", found {value}"))?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => out.push(chars.next().unwrap_or('\\')),
            (c, false) => out.push(c),
        }
    }
    Ok(out)
}

/// The part for an exercise number, written `1`, `01` or `ex01`.
pub fn find<'a>(rubric: &'a [Part], id: &str) -> Option<&'a Part> {
    let id = id.trim_start_matches("ex");
    rubric
        .iter()
        .find(|p| p.id == id || p.id == format!("{id:0>2}"))
}

/// The parts a check of `part` runs, in order: the earlier exercises of the same role,
/// then `part` itself, so a step that breaks an earlier one shows (as in CS144).
pub fn cumulative<'a>(rubric: &'a [Part], part: &Part) -> Vec<&'a Part> {
    let Some(last) = part.number() else {
        return rubric.iter().filter(|p| p.id == part.id).collect();
    };
    rubric
        .iter()
        .filter(|p| p.role == part.role && !p.folder.is_empty())
        .filter(|p| p.number().is_some_and(|n| n <= last))
        .collect()
}

/// A behaviour's name in words: `ex01_missing_file_gets_404` -> "missing file gets 404".
pub fn in_words(test: &str) -> String {
    let words = match test.split_once('_') {
        Some((prefix, rest)) if prefix.starts_with("ex") => rest,
        _ => test,
    };
    words.replace('_', " ")
}

/// Everything wrong with `rubric` as a registry of the suite whose source is `suite`:
/// a behaviour that is not a test of the suite, a test `exNN_...` of the suite that no part
/// grades, a behaviour with no points, or a hint that `hints_of(part id)` (how many hints
/// the exercise has) does not have. Empty when the rubric is sound.
pub fn problems(rubric: &[Part], suite: &str, hints_of: impl Fn(&str) -> usize) -> Vec<String> {
    let tests: Vec<&str> = suite
        .split("#[test]")
        .skip(1)
        .filter_map(|after| {
            let after = after.split_once("fn ")?.1;
            after.split('(').next().map(str::trim)
        })
        .collect();
    let mut problems = Vec::new();
    let mut graded = Vec::new();
    for part in rubric {
        if part.behaviours.is_empty() {
            problems.push(format!("[{}] has no behaviours", part.id));
        }
        let hints = hints_of(&part.id);
        for b in &part.behaviours {
            graded.push(b.name.as_str());
            if !tests.contains(&b.name.as_str()) {
                problems.push(format!(
                    "[{}] {}: no test of that name in tests/conformance.rs",
                    part.id, b.name
                ));
            }
            if b.points == 0 {
                problems.push(format!("[{}] {}: no points", part.id, b.name));
            }
            if !part.folder.is_empty() && !(1..=hints).contains(&b.hint) {
                problems.push(format!(
                    "[{}] {}: hint {} does not exist (exercise {} has hints 1 to {hints})",
                    part.id, b.name, b.hint, part.id
                ));
            }
        }
    }
    for test in tests.iter().filter(|t| t.starts_with("ex")) {
        if !graded.contains(test) {
            problems.push(format!(
                "{test}: a behaviour of the suite that no part grades"
            ));
        }
    }
    problems
}
