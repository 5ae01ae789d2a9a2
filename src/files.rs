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
//! 2. **By location, in the open itself.** The names are opened one below the other
//!    starting from the root, in a way that cannot step out of it: a symlink that stays
//!    inside the root works, one that leads outside is refused. Then what was opened is
//!    asked what it is (`fstat` on the open handle): only a regular file is served, or a
//!    folder for its `index.html` or its listing.
//!
//! **Why the open must be the check.** The obvious way, find where the path really leads
//! (`canonicalize`), check that it is inside, then open it, has a gap between the check and
//! the open. Anyone who may write inside the root (an upload folder, a student's home on a
//! shared server) can swap a name for a symlink to `/etc/passwd` in that gap: the check saw
//! a file inside, the open follows the link out. Or they swap in a FIFO, and the open waits
//! for a writer forever, holding a server thread. Nothing checked by name before the open
//! can close that gap, because the name may mean something else a microsecond later. So
//! the open is done first, in a way that refuses to leave the root and never waits
//! (`O_NONBLOCK`), and every later question (is it a regular file? how long is it?) is
//! asked of the open handle, which keeps meaning the same file whatever happens to names.
//! nginx does the same (`ngx_open_cached_file`: open non-blocking, then `fstat`).
//!
//! How each system opens without leaving the root is in `files/beneath.rs`: `openat2` on
//! Linux 5.6 and later, a walk of `openat` calls elsewhere on Unix (macOS included), and on
//! Windows a check of the open handle's real path, which leaves one narrow window described
//! there.

use std::fmt;
use std::fs::{self, File, Metadata};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::http::{encode_path, StatusCode};

mod beneath;

/// The file a directory request falls back to.
pub const INDEX_FILE: &str = "index.html";

/// The folder the server serves, canonicalised and opened once at start-up.
#[derive(Debug, Clone)]
pub struct Root {
    canonical: PathBuf,
    handle: Arc<beneath::RootHandle>,
}

/// What a request path resolves to: always something already open, checked as opened.
#[derive(Debug)]
pub enum Resolved {
    /// A regular file inside the root: serve it.
    File {
        /// The path the request named, under the root (its name gives the content type).
        path: PathBuf,
        /// The file, open for reading.
        file: File,
        /// Its metadata (length, modification time), read from the open file.
        metadata: Metadata,
    },
    /// A directory named with its trailing slash that has no `index.html`: list it, if
    /// listings are on, or answer 404.
    Directory {
        /// The path the request named, under the root.
        path: PathBuf,
        /// The folder, open, to be listed.
        listing: Listing,
    },
    /// A directory named without its trailing slash: redirect to this path, which always
    /// starts with exactly one `/`, so it can never point at another host.
    Redirect(String),
}

/// A folder opened inside the root, ready to list.
#[derive(Debug)]
pub struct Listing {
    folder: File,
    path: PathBuf,
    segments: Vec<String>,
    root: Root,
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
        let handle = Arc::new(beneath::open_root(&canonical)?);
        Ok(Root { canonical, handle })
    }

    /// The root's canonical path.
    pub fn path(&self) -> &Path {
        &self.canonical
    }

    /// Resolves a decoded request path (see [`crate::http::decode_target`]) inside the root
    /// and opens what it names.
    ///
    /// `/` and any path ending in `/` mean that directory's `index.html`, or the directory
    /// itself if it has none.
    pub fn resolve(&self, request_path: &str) -> Result<Resolved, LookupError> {
        let segments = plain_segments(request_path)?;
        let wants_directory = request_path.ends_with('/');
        let (file, metadata) = self.open(&segments)?;
        let path = self.path_of(&segments);

        if metadata.is_dir() {
            if !wants_directory {
                let location = format!("/{}/", segments.join("/"));
                return Ok(Resolved::Redirect(
                    encode_path(&location).replace("//", "/"),
                ));
            }
            let index: Vec<&str> = segments.iter().copied().chain([INDEX_FILE]).collect();
            return match self.open(&index) {
                Ok((index_file, metadata)) => {
                    regular_file(self.path_of(&index), index_file, metadata)
                }
                Err(LookupError::NotFound) => Ok(Resolved::Directory {
                    listing: Listing {
                        folder: file,
                        path: path.clone(),
                        segments: segments.iter().map(|s| s.to_string()).collect(),
                        root: self.clone(),
                    },
                    path,
                }),
                Err(error) => Err(error),
            };
        }
        if wants_directory {
            return Err(LookupError::NotFound);
        }
        regular_file(path, file, metadata)
    }

    /// Opens what `segments` name without leaving the root, then reads its metadata from
    /// the open handle (`fstat`), never from the name.
    fn open(&self, segments: &[&str]) -> Result<(File, Metadata), LookupError> {
        let file = beneath::open_beneath(&self.handle, &self.canonical, segments)?;
        let metadata = file.metadata().map_err(io_to_lookup)?;
        Ok((file, metadata))
    }

    fn path_of(&self, segments: &[&str]) -> PathBuf {
        segments
            .iter()
            .fold(self.canonical.clone(), |path, segment| path.join(segment))
    }
}

impl Listing {
    /// The folder's entries, sorted, each folder's name ending in `/`. They are read from
    /// the open folder, and a symlink counts as a folder only if it leads to one inside the
    /// root. Names that are not UTF-8 are left out.
    pub fn names(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for (name, kind) in beneath::entries(&self.folder, &self.path)? {
            let Ok(name) = name.into_string() else {
                continue;
            };
            let is_dir = match kind {
                beneath::EntryKind::Directory => true,
                beneath::EntryKind::Symlink => {
                    let mut segments: Vec<&str> =
                        self.segments.iter().map(String::as_str).collect();
                    segments.push(&name);
                    self.root
                        .open(&segments)
                        .is_ok_and(|(_, metadata)| metadata.is_dir())
                }
                beneath::EntryKind::Other => false,
            };
            names.push(if is_dir { format!("{name}/") } else { name });
        }
        names.sort();
        Ok(names)
    }
}

/// Serves only a regular file: a FIFO, a device or a socket under the root would block,
/// never end, or leak.
fn regular_file(path: PathBuf, file: File, metadata: Metadata) -> Result<Resolved, LookupError> {
    if !metadata.is_file() {
        return Err(LookupError::Forbidden);
    }
    Ok(Resolved::File {
        path,
        file,
        metadata,
    })
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

    /// A folder holding a file, a folder, and symlinks to a folder inside the root and to
    /// one outside it: only the first symlink is listed as a folder.
    #[cfg(unix)]
    #[test]
    fn a_listing_marks_folders_and_only_symlinks_to_folders_inside() {
        use std::os::unix::fs::symlink;
        let outer = tempfile::tempdir().expect("a temporary folder");
        let www = outer.path().join("www");
        fs::create_dir_all(www.join("list/folder")).expect("folders");
        fs::create_dir_all(outer.path().join("outside")).expect("a folder outside");
        fs::write(www.join("list/file.txt"), "").expect("a file");
        symlink("folder", www.join("list/inside-link")).expect("a symlink");
        symlink("../../outside", www.join("list/outside-link")).expect("a symlink");
        let root = Root::new(&www).expect("the root");
        let Ok(Resolved::Directory { listing, .. }) = root.resolve("/list/") else {
            panic!("/list/ is a folder without an index");
        };
        let names = listing.names().expect("the names");
        assert_eq!(
            names,
            ["file.txt", "folder/", "inside-link/", "outside-link"]
        );
    }

    /// What is resolved is open, still non-blocking (as it was opened, so that a FIFO could
    /// not hold the open), and a regular file reads whole all the same.
    #[cfg(unix)]
    #[test]
    fn a_resolved_file_is_open_and_reads_whole() {
        use std::os::fd::AsRawFd;
        let dir = tempfile::tempdir().expect("a temporary folder");
        let written: Vec<u8> = (0..3 << 20).map(|i: u32| (i % 251) as u8).collect();
        fs::write(dir.path().join("a.bin"), &written).expect("a file");
        let root = Root::new(dir.path()).expect("the root");
        let Ok(Resolved::File {
            mut file, metadata, ..
        }) = root.resolve("/a.bin")
        else {
            panic!("/a.bin is a file");
        };
        // SAFETY: fcntl on a valid descriptor.
        let flags = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFL) };
        assert_ne!(flags & libc::O_NONBLOCK, 0, "opened non-blocking");
        let mut contents = Vec::new();
        io::Read::read_to_end(&mut file, &mut contents).expect("read");
        assert_eq!(metadata.len(), 3 << 20);
        assert!(
            contents == written,
            "read {} bytes, not the file's",
            contents.len()
        );
    }
}
