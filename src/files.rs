//! Finding the file a request names, without ever leaving the root: the server's
//! security boundary (assignment task 1, step 5).
//!
//! A path from the network is hostile until proven otherwise. [`Root::resolve`] proves it in
//! two independent steps, so that a mistake in one is caught by the other:
//!
//! 1. **By spelling.** The decoded path is split on `/`, and each segment must be a plain
//!    name: `..` is refused outright (never "resolved"), and so are segments holding `\` or
//!    `:`, which Windows reads as a separator, a drive or a data stream. Empty and `.`
//!    segments are skipped.
//! 2. **By location.** The joined path is canonicalised by the operating system, which
//!    follows every symlink, and the result must still lie under the canonical root. A
//!    symlink that points inside the root works; one that points outside is refused.
//!
//! Only regular files are served: a FIFO or a device under the root would block or leak.

use std::fmt;
use std::fs::{self, Metadata};
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::http::{encode_path, StatusCode};

/// The file a directory request falls back to.
pub const INDEX_FILE: &str = "index.html";

/// The folder the server serves, canonicalised once at start-up.
#[derive(Debug, Clone)]
pub struct Root {
    canonical: PathBuf,
}

/// What a request path resolves to.
#[derive(Debug)]
pub enum Resolved {
    /// A regular file inside the root: serve it.
    File {
        /// The canonical path of the file.
        path: PathBuf,
        /// Its metadata (length, modification time).
        metadata: Metadata,
    },
    /// A directory named with its trailing slash that has no `index.html`: list it, if
    /// listings are on, or answer 404.
    Directory {
        /// The canonical path of the directory.
        path: PathBuf,
    },
    /// A directory named without its trailing slash: redirect to this path, which always
    /// starts with exactly one `/`, so it can never point at another host.
    Redirect(String),
}

/// Why a request path is not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupError {
    /// Nothing is there (or nothing that may be shown).
    NotFound,
    /// The path tries to leave the root, or names something that is not a regular file.
    Forbidden,
}

impl LookupError {
    /// The status code to answer with.
    pub fn status(self) -> StatusCode {
        match self {
            LookupError::NotFound => StatusCode::NotFound,
            LookupError::Forbidden => StatusCode::Forbidden,
        }
    }
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LookupError::NotFound => "not found",
            LookupError::Forbidden => "forbidden",
        })
    }
}

impl std::error::Error for LookupError {}

impl Root {
    /// Opens `path` as the root. Fails if it does not exist or is not a directory.
    pub fn new(path: impl AsRef<Path>) -> io::Result<Root> {
        let canonical = fs::canonicalize(path.as_ref())?;
        if !canonical.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a directory",
            ));
        }
        Ok(Root { canonical })
    }

    /// The root's canonical path.
    pub fn path(&self) -> &Path {
        &self.canonical
    }

    /// Resolves a decoded request path (see [`crate::http::decode_target`]) inside the root.
    ///
    /// `/` and any path ending in `/` mean that directory's `index.html`, or the directory
    /// itself if it has none.
    pub fn resolve(&self, request_path: &str) -> Result<Resolved, LookupError> {
        let segments = plain_segments(request_path)?;
        let wants_directory = request_path.ends_with('/');
        let candidate = segments
            .iter()
            .fold(self.canonical.clone(), |path, segment| path.join(segment));
        let (path, metadata) = self.inside_root(&candidate)?;

        if metadata.is_dir() {
            if !wants_directory {
                let location = format!("/{}/", segments.join("/"));
                return Ok(Resolved::Redirect(
                    encode_path(&location).replace("//", "/"),
                ));
            }
            return match self.inside_root(&path.join(INDEX_FILE)) {
                Ok((index, metadata)) => regular_file(index, metadata),
                Err(LookupError::NotFound) => Ok(Resolved::Directory { path }),
                Err(error) => Err(error),
            };
        }
        if wants_directory {
            return Err(LookupError::NotFound);
        }
        regular_file(path, metadata)
    }

    /// Canonicalises `candidate` and checks that it is still under the root.
    fn inside_root(&self, candidate: &Path) -> Result<(PathBuf, Metadata), LookupError> {
        let canonical = fs::canonicalize(candidate).map_err(io_to_lookup)?;
        if !canonical.starts_with(&self.canonical) {
            return Err(LookupError::Forbidden);
        }
        let metadata = fs::metadata(&canonical).map_err(io_to_lookup)?;
        Ok((canonical, metadata))
    }
}

fn regular_file(path: PathBuf, metadata: Metadata) -> Result<Resolved, LookupError> {
    match metadata.is_file() {
        true => Ok(Resolved::File { path, metadata }),
        false => Err(LookupError::Forbidden),
    }
}

fn io_to_lookup(error: io::Error) -> LookupError {
    match error.kind() {
        io::ErrorKind::PermissionDenied => LookupError::Forbidden,
        _ => LookupError::NotFound,
    }
}

/// Splits a request path into plain names, refusing anything that could step outside.
fn plain_segments(request_path: &str) -> Result<Vec<&str>, LookupError> {
    let mut segments = Vec::new();
    for segment in request_path.split('/') {
        match segment {
            "" | "." => continue,
            ".." => return Err(LookupError::Forbidden),
            s if s.contains(['\\', ':']) => return Err(LookupError::Forbidden),
            s => {
                let mut components = Path::new(s).components();
                match (components.next(), components.next()) {
                    (Some(Component::Normal(name)), None) if name == s => segments.push(s),
                    _ => return Err(LookupError::Forbidden),
                }
            }
        }
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_dot_and_windows_spellings_are_refused_by_spelling() {
        for path in [
            "/..",
            "/a/../b",
            "/..\\x",
            "/a\\b",
            "/C:/x",
            "/f.txt::$DATA",
        ] {
            assert_eq!(plain_segments(path), Err(LookupError::Forbidden), "{path}");
        }
    }

    #[test]
    fn permission_problems_are_forbidden_and_the_rest_not_found() {
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        assert_eq!(io_to_lookup(denied), LookupError::Forbidden);
        let missing = io::Error::from(io::ErrorKind::NotFound);
        assert_eq!(io_to_lookup(missing), LookupError::NotFound);
    }

    #[test]
    fn lookup_errors_explain_themselves_and_map_to_statuses() {
        assert_eq!(LookupError::NotFound.to_string(), "not found");
        assert_eq!(LookupError::Forbidden.to_string(), "forbidden");
        assert_eq!(LookupError::NotFound.status(), StatusCode::NotFound);
        assert_eq!(LookupError::Forbidden.status(), StatusCode::Forbidden);
    }

    #[test]
    fn empty_and_dot_segments_are_skipped() {
        assert_eq!(plain_segments("//a/./b/").unwrap(), vec!["a", "b"]);
    }
}
