//! Sites: temporary folders to serve, built one line per file.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// A temporary folder to serve, built one line per file; removed when dropped.
pub struct Site {
    dir: TempDir,
}

impl Site {
    /// An empty site.
    pub fn new() -> Site {
        Site {
            dir: tempfile::tempdir().expect("create a temporary folder"),
        }
    }

    /// The sample site in `fixtures/www`, copied so tests may change it.
    pub fn sample() -> Site {
        let site = Site::new();
        copy_tree(&fixtures().join("www"), site.path());
        site
    }

    /// Adds a file (and any missing parent folders).
    pub fn file(self, path: &str, contents: impl AsRef<[u8]>) -> Site {
        let full = self.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("create parent folders");
        }
        std::fs::write(&full, contents).expect("write a site file");
        self
    }

    /// Adds a sparse file of `len` zero bytes: long, but almost no disk used and fast to
    /// create, for tests of large downloads.
    pub fn sparse_file(self, path: &str, len: u64) -> Site {
        let file = std::fs::File::create(self.path().join(path)).expect("create a large file");
        file.set_len(len).expect("set the large file's length");
        self
    }

    /// Adds an empty folder.
    pub fn dir(self, path: &str) -> Site {
        std::fs::create_dir_all(self.path().join(path)).expect("create a folder");
        self
    }

    /// Adds a symbolic link at `link` pointing to `target` (taken as is: relative targets
    /// are relative to the link's folder). Returns `None` where the platform refuses
    /// (Windows without developer mode), so a test can say it was skipped.
    pub fn symlink(self, link: &str, target: impl AsRef<Path>) -> Option<Site> {
        let full = self.path().join(link);
        make_symlink(target.as_ref(), &full).ok()?;
        Some(self)
    }

    /// The folder's path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

#[cfg(unix)]
fn make_symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(windows)]
fn make_symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    let resolved = link
        .parent()
        .map_or(target.to_path_buf(), |p| p.join(target));
    match resolved.is_dir() {
        true => std::os::windows::fs::symlink_dir(target, link),
        false => std::os::windows::fs::symlink_file(target, link),
    }
}

/// The repository's `fixtures` folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read fixtures") {
        let entry = entry.expect("read a fixtures entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).expect("create a folder");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a fixture");
        }
    }
}
