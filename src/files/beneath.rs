//! Opening a name below the root without ever stepping out of it: the one
//! platform-specific corner of the file lookup. Each system uses the strongest tool it has,
//! and every one of them hands back a handle that is already open, so that what the lookup
//! checks next (its kind, its length) is what will be sent.
//!
//! | system | how | what is left |
//! |--------|-----|--------------|
//! | Linux 5.6 and later | one `openat2` call with `RESOLVE_BENEATH`: the kernel refuses any step out of the root (`..`, an absolute path, a symlink) | nothing |
//! | macOS, other Unix, Linux before 5.6 | a walk, one name at a time with `openat` and `O_NOFOLLOW`, each relative to the folder opened just before; symlinks are read and followed by the walk itself, which refuses any that leave | nothing |
//! | Windows | open the path, then ask the open handle where it really is (`GetFinalPathNameByHandleW`) and what it is (`GetFileType`) | the open itself may reach outside the root before the check refuses it: nothing is read from it, but opening has effects (an access time, a sharing conflict) |
//!
//! Every open is also non-blocking (`O_NONBLOCK`): opening a FIFO for reading would
//! otherwise wait for a writer, possibly forever. The flag is left on the regular files
//! that are served, as nginx leaves it: reads and `sendfile` of a regular file ignore it on
//! Linux and macOS, and clearing it would cost two `fcntl` calls on every request.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::Path;

use super::LookupError;

/// What a folder entry is, seen without following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EntryKind {
    Directory,
    Symlink,
    Other,
}

#[cfg(unix)]
pub(super) use unix::{entries, open_beneath, open_root, RootHandle};
#[cfg(windows)]
pub(super) use windows::{entries, open_beneath, open_root, RootHandle};

#[cfg(unix)]
mod unix {
    use std::ffi::{CStr, CString, OsStr};
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    use std::os::unix::fs::OpenOptionsExt;
    use std::path::{Component, PathBuf};

    use super::*;

    /// The kernel's own limit on symlinks in one lookup (Linux's MAXSYMLINKS).
    const MAX_SYMLINKS: usize = 40;

    /// Read only; never wait on a FIFO or a device; closed in child processes; never
    /// become a terminal's controller.
    const OPEN_FLAGS: libc::c_int =
        libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY;

    /// What a lookup starts from: the root folder, open.
    pub(crate) type RootHandle = File;

    /// Opens the root folder once, at start-up: every lookup starts from this handle.
    pub(crate) fn open_root(path: &Path) -> io::Result<File> {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(path)
    }

    /// Opens `segments` (plain names, see `plain_segments`) below `root`, whose canonical
    /// path is `root_path`. No segment means the root itself.
    pub(crate) fn open_beneath(
        root: &File,
        root_path: &Path,
        segments: &[&str],
    ) -> Result<File, LookupError> {
        #[cfg(target_os = "linux")]
        if let Some(opened) = linux::openat2_beneath(root, segments) {
            return opened;
        }
        walk_beneath(root, root_path, segments)
    }

    /// The walk: opens one name at a time, each relative to the folder opened before it,
    /// never following a symlink in the kernel (`O_NOFOLLOW`). A symlink is read instead,
    /// and its target's names are walked in its place: `..` steps back to the folder
    /// opened before, and may never step back past the root; an absolute target is
    /// allowed only if it names a place under the root's canonical path.
    pub(super) fn walk_beneath(
        root: &File,
        root_path: &Path,
        segments: &[&str],
    ) -> Result<File, LookupError> {
        // The folders opened below the root so far, deepest last.
        let mut opened: Vec<File> = Vec::new();
        let mut names: Vec<OsString> = segments.iter().rev().map(OsString::from).collect();
        let mut links = 0;
        loop {
            let here = opened.last().unwrap_or(root);
            let Some(name) = names.pop() else {
                // Nothing more to walk: the answer is the folder reached.
                return openat(here, OsStr::new("."), OPEN_FLAGS).map_err(io_to_lookup);
            };
            if name == "." || name.is_empty() {
                continue;
            }
            if name == ".." {
                // Only a symlink's target can hold `..` (the request's spelling cannot).
                opened.pop().ok_or(LookupError::Forbidden)?;
                continue;
            }
            let last = names.is_empty();
            let flags = match last {
                true => OPEN_FLAGS | libc::O_NOFOLLOW,
                false => OPEN_FLAGS | libc::O_NOFOLLOW | libc::O_DIRECTORY,
            };
            let error = match openat(here, &name, flags) {
                Ok(file) if last => return Ok(file),
                Ok(folder) => {
                    opened.push(folder);
                    continue;
                }
                Err(error) => error,
            };
            // O_NOFOLLOW refuses a symlink with ELOOP (EMLINK on FreeBSD), and O_DIRECTORY
            // may answer ENOTDIR first: read it, if it is one.
            let maybe_link = matches!(
                error.raw_os_error(),
                Some(libc::ELOOP | libc::EMLINK | libc::ENOTDIR)
            );
            let target = match maybe_link.then(|| readlinkat(here, &name)) {
                Some(Ok(target)) => target,
                _ => return Err(io_to_lookup(error)),
            };
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(LookupError::Forbidden);
            }
            let target = match target.strip_prefix(root_path) {
                Ok(inside) if target.is_absolute() => {
                    opened.clear();
                    inside.to_path_buf()
                }
                _ if target.is_absolute() => return Err(LookupError::Forbidden),
                _ => target,
            };
            for component in target.components().rev() {
                match component {
                    Component::Normal(part) => names.push(part.to_os_string()),
                    Component::ParentDir => names.push(OsString::from("..")),
                    Component::CurDir => {}
                    Component::RootDir | Component::Prefix(_) => {
                        return Err(LookupError::Forbidden)
                    }
                }
            }
        }
    }

    fn c_name(name: &OsStr) -> io::Result<CString> {
        CString::new(name.as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::NotFound))
    }

    fn openat(folder: &File, name: &OsStr, flags: libc::c_int) -> io::Result<File> {
        let name = c_name(name)?;
        loop {
            // SAFETY: a valid folder descriptor and a NUL-terminated name.
            let fd = unsafe { libc::openat(folder.as_raw_fd(), name.as_ptr(), flags) };
            if fd >= 0 {
                // SAFETY: a descriptor just opened, owned by nothing else.
                return Ok(unsafe { File::from_raw_fd(fd) });
            }
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
    }

    fn readlinkat(folder: &File, name: &OsStr) -> io::Result<PathBuf> {
        let name = c_name(name)?;
        let mut buffer = vec![0u8; libc::PATH_MAX as usize];
        // SAFETY: a valid folder descriptor, a NUL-terminated name, and a buffer of the
        // length given.
        let n = unsafe {
            libc::readlinkat(
                folder.as_raw_fd(),
                name.as_ptr(),
                buffer.as_mut_ptr().cast(),
                buffer.len(),
            )
        };
        // readlinkat returns the length of the target (never NUL-terminated), or -1.
        let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
        if n >= buffer.len() {
            return Err(io::Error::from(io::ErrorKind::InvalidData));
        }
        buffer.truncate(n);
        Ok(PathBuf::from(OsString::from_vec(buffer)))
    }

    /// The entries of an open folder (without `.` and `..`), read from the handle itself
    /// (`fdopendir`): a folder swapped in by name since the open is never listed.
    pub(crate) fn entries(folder: &File, _path: &Path) -> io::Result<Vec<(OsString, EntryKind)>> {
        // SAFETY: duplicating a valid descriptor; fdopendir takes the copy over.
        let copy = unsafe { libc::fcntl(folder.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
        if copy < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a descriptor of an open folder, owned by nothing else.
        let stream = unsafe { libc::fdopendir(copy) };
        if stream.is_null() {
            let error = io::Error::last_os_error();
            // SAFETY: fdopendir failed, so the copy is still ours to close.
            unsafe { libc::close(copy) };
            return Err(error);
        }
        let mut names = Vec::new();
        loop {
            // SAFETY: a stream from fdopendir, not yet closed. (The end and an error both
            // end the list: what was read so far is listed.)
            let entry = unsafe { libc::readdir(stream) };
            if entry.is_null() {
                break;
            }
            // SAFETY: readdir's entry is valid until the next call on this stream, and
            // its name is NUL-terminated.
            let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) };
            let name = OsStr::from_bytes(name.to_bytes());
            if name != "." && name != ".." {
                names.push(name.to_os_string());
            }
        }
        // SAFETY: closes the stream and the copy it owns, once.
        unsafe { libc::closedir(stream) };
        Ok(names
            .into_iter()
            .map(|name| {
                let kind = kind_at(folder, &name);
                (name, kind)
            })
            .collect())
    }

    /// What `name` in `folder` is, not following a symlink.
    fn kind_at(folder: &File, name: &OsStr) -> EntryKind {
        let Ok(name) = c_name(name) else {
            return EntryKind::Other;
        };
        // SAFETY: a zeroed stat is a valid value for fstatat to fill in.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: a valid folder descriptor, a NUL-terminated name, and a stat to fill.
        let found = unsafe {
            libc::fstatat(
                folder.as_raw_fd(),
                name.as_ptr(),
                &mut stat,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        match (found, stat.st_mode & libc::S_IFMT) {
            (0, libc::S_IFDIR) => EntryKind::Directory,
            (0, libc::S_IFLNK) => EntryKind::Symlink,
            _ => EntryKind::Other,
        }
    }

    fn io_to_lookup(error: io::Error) -> LookupError {
        super::super::io_to_lookup(error)
    }

    /// Linux 5.6 and later: the whole lookup in one call, the kernel keeping it beneath
    /// the root.
    #[cfg(target_os = "linux")]
    mod linux {
        use std::sync::atomic::{AtomicBool, Ordering};

        use super::*;

        /// Set once the kernel has said it has no `openat2` (before 5.6, or a sandbox
        /// that hides it), so that later lookups go straight to the walk.
        static MISSING: AtomicBool = AtomicBool::new(false);

        /// How often to try again when the kernel saw a rename race during the lookup.
        const RETRIES: usize = 4;

        /// `Some` with the answer, or `None` when the walk must decide: no `openat2`
        /// here, a path the kernel will not judge (a symlink to an absolute path, which
        /// the walk allows if it stays in the root), or a race it kept seeing.
        pub(super) fn openat2_beneath(
            root: &File,
            segments: &[&str],
        ) -> Option<Result<File, LookupError>> {
            if MISSING.load(Ordering::Relaxed) {
                return None;
            }
            let path = match segments.is_empty() {
                true => ".".to_string(),
                false => segments.join("/"),
            };
            let Ok(path) = CString::new(path) else {
                return Some(Err(LookupError::NotFound));
            };
            // SAFETY: open_how is plain data; all zeroes is its "nothing asked" value.
            let mut how: libc::open_how = unsafe { std::mem::zeroed() };
            how.flags = OPEN_FLAGS as u64;
            // BENEATH: no step out of the root, by `..`, an absolute path or a symlink.
            // NO_MAGICLINKS: no /proc/self/fd-style links, which jump anywhere.
            how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
            for _ in 0..RETRIES {
                // SAFETY: a valid folder descriptor, a NUL-terminated path, and an
                // open_how of the size given.
                let fd = unsafe {
                    libc::syscall(
                        libc::SYS_openat2,
                        root.as_raw_fd(),
                        path.as_ptr(),
                        &how as *const libc::open_how,
                        std::mem::size_of::<libc::open_how>(),
                    )
                };
                if let Ok(fd) = std::os::fd::RawFd::try_from(fd) {
                    if fd >= 0 {
                        // SAFETY: a descriptor just opened, owned by nothing else.
                        return Some(Ok(unsafe { File::from_raw_fd(fd) }));
                    }
                }
                let error = io::Error::last_os_error();
                match error.raw_os_error() {
                    Some(libc::EINTR | libc::EAGAIN) => continue,
                    Some(libc::ENOSYS) => {
                        MISSING.store(true, Ordering::Relaxed);
                        return None;
                    }
                    // A sandbox refusing the call, or flags this kernel does not know.
                    Some(libc::EPERM | libc::EINVAL | libc::E2BIG) => return None,
                    Some(libc::EXDEV) => return None,
                    Some(libc::ELOOP) => return Some(Err(LookupError::Forbidden)),
                    _ => return Some(Err(io_to_lookup(error))),
                }
            }
            None
        }
    }
}

#[cfg(windows)]
mod windows {
    use std::os::windows::ffi::OsStringExt;
    use std::os::windows::fs::OpenOptionsExt;
    use std::os::windows::io::AsRawHandle;
    use std::path::PathBuf;

    use windows_sys::Win32::Storage::FileSystem::{
        GetFileType, GetFinalPathNameByHandleW, FILE_FLAG_BACKUP_SEMANTICS, FILE_NAME_NORMALIZED,
        FILE_SHARE_READ, FILE_SHARE_WRITE, FILE_TYPE_DISK, VOLUME_NAME_DOS,
    };

    use super::*;

    /// What a lookup starts from: the root's canonical path (each lookup opens its whole
    /// path, then checks where it landed).
    pub(crate) type RootHandle = PathBuf;

    /// Nothing to open ahead on Windows.
    pub(crate) fn open_root(path: &Path) -> io::Result<PathBuf> {
        Ok(path.to_path_buf())
    }

    /// Opens the path, then checks the open handle: where it really is (symlinks and
    /// junctions resolved) must be under the root, and it must be a file on a disk (not
    /// a device such as `CON`, or a pipe).
    pub(crate) fn open_beneath(
        root: &Path,
        root_path: &Path,
        segments: &[&str],
    ) -> Result<File, LookupError> {
        let path = segments
            .iter()
            .fold(root.to_path_buf(), |path, s| path.join(s));
        let file = std::fs::OpenOptions::new()
            .read(true)
            // Lets a folder be opened too, for its index or its listing.
            .custom_flags(FILE_FLAG_BACKUP_SEMANTICS)
            // No FILE_SHARE_DELETE: while the handle is open, nobody can rename or
            // remove what it names, so a folder's listing by path lists this folder.
            .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE)
            .open(&path)
            .map_err(super::super::io_to_lookup)?;
        let handle = file.as_raw_handle();
        // SAFETY: a valid handle, open for the duration of the call.
        if unsafe { GetFileType(handle) } != FILE_TYPE_DISK {
            return Err(LookupError::Forbidden);
        }
        let real = final_path(&file).map_err(|_| LookupError::Forbidden)?;
        match real.starts_with(root_path) {
            true => Ok(file),
            false => Err(LookupError::Forbidden),
        }
    }

    /// The handle's own path, in the `\\?\C:\...` form that `canonicalize` gives the root.
    fn final_path(file: &File) -> io::Result<PathBuf> {
        let mut buffer = vec![0u16; 512];
        loop {
            // SAFETY: a valid handle and a buffer of the length given.
            let n = unsafe {
                GetFinalPathNameByHandleW(
                    file.as_raw_handle(),
                    buffer.as_mut_ptr(),
                    buffer.len() as u32,
                    FILE_NAME_NORMALIZED | VOLUME_NAME_DOS,
                )
            } as usize;
            match n {
                0 => return Err(io::Error::last_os_error()),
                // Too small: n is the length needed, with its terminating NUL.
                n if n > buffer.len() => buffer.resize(n, 0),
                n => return Ok(PathBuf::from(OsString::from_wide(&buffer[..n]))),
            }
        }
    }

    /// The entries of a folder, read by its path again: std cannot list a handle. The
    /// caller holds the folder open without delete sharing, so it cannot be renamed or
    /// removed meanwhile, and NTFS refuses to rename a folder while anything below it is
    /// open; a file system that allowed that would leave a window here.
    pub(crate) fn entries(_folder: &File, path: &Path) -> io::Result<Vec<(OsString, EntryKind)>> {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            // DirEntry::file_type does not follow links on Windows.
            let kind = match entry.file_type() {
                Ok(t) if t.is_symlink() => EntryKind::Symlink,
                Ok(t) if t.is_dir() => EntryKind::Directory,
                _ => EntryKind::Other,
            };
            entries.push((entry.file_name(), kind));
        }
        Ok(entries)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::symlink;
    use std::path::PathBuf;
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    /// `outer/secret.txt` beside the root `outer/www`, which holds `a.txt`, `sub/b.txt`
    /// and symlinks of every sort.
    struct Tree {
        _outer: tempfile::TempDir,
        root_path: PathBuf,
        root: File,
    }

    fn tree() -> Tree {
        let outer = tempfile::tempdir().expect("a temporary folder");
        let base = std::fs::canonicalize(outer.path()).expect("canonical");
        let www = base.join("www");
        std::fs::create_dir_all(www.join("sub")).expect("folders");
        std::fs::write(base.join("secret.txt"), "secret").expect("secret");
        std::fs::write(www.join("a.txt"), "a").expect("a.txt");
        std::fs::write(www.join("sub/b.txt"), "b").expect("b.txt");
        for (link, target) in [
            ("alias.txt", PathBuf::from("sub/b.txt")),
            ("folder", PathBuf::from("sub")),
            ("sub/up", PathBuf::from("..")),
            ("sub/back.txt", PathBuf::from("../a.txt")),
            ("absolute.txt", www.join("a.txt")),
            ("out.txt", PathBuf::from("../secret.txt")),
            ("absolute-out.txt", base.join("secret.txt")),
            ("up", PathBuf::from("..")),
            ("loop1", PathBuf::from("loop2")),
            ("loop2", PathBuf::from("loop1")),
        ] {
            symlink(target, www.join(link)).expect("a symlink");
        }
        let root = unix::open_root(&www).expect("open the root");
        Tree {
            _outer: outer,
            root_path: www,
            root,
        }
    }

    type Open = fn(&File, &Path, &[&str]) -> Result<File, LookupError>;

    /// Both ways to open: the one this system uses (openat2 on a recent Linux), and the
    /// walk, which is the fallback here and the only way on macOS.
    const OPENERS: [(&str, Open); 2] = [
        ("open_beneath", open_beneath),
        ("walk_beneath", unix::walk_beneath),
    ];

    fn read(file: Result<File, LookupError>) -> Result<String, LookupError> {
        let mut contents = String::new();
        io::Read::read_to_string(&mut file?, &mut contents).expect("read what was opened");
        Ok(contents)
    }

    #[test]
    fn names_and_symlinks_inside_the_root_open() {
        let tree = tree();
        for (opener, open) in OPENERS {
            let open = |segments: &[&str]| read(open(&tree.root, &tree.root_path, segments));
            assert_eq!(open(&["a.txt"]), Ok("a".into()), "{opener}");
            assert_eq!(open(&["sub", "b.txt"]), Ok("b".into()), "{opener}");
            assert_eq!(open(&["alias.txt"]), Ok("b".into()), "{opener}");
            assert_eq!(open(&["folder", "b.txt"]), Ok("b".into()), "{opener}");
            assert_eq!(open(&["sub", "up", "a.txt"]), Ok("a".into()), "{opener}");
            assert_eq!(open(&["sub", "back.txt"]), Ok("a".into()), "{opener}");
            assert_eq!(open(&["absolute.txt"]), Ok("a".into()), "{opener}");
        }
    }

    #[test]
    fn symlinks_that_leave_the_root_or_loop_are_forbidden() {
        let tree = tree();
        for (opener, open) in OPENERS {
            for segments in [
                &["out.txt"][..],
                &["absolute-out.txt"],
                &["up", "secret.txt"],
                &["sub", "up", "up", "secret.txt"],
                &["loop1"],
            ] {
                let opened = open(&tree.root, &tree.root_path, segments);
                assert_eq!(
                    opened.err(),
                    Some(LookupError::Forbidden),
                    "{opener}: {segments:?}"
                );
            }
        }
    }

    #[test]
    fn missing_names_and_files_used_as_folders_are_not_found() {
        let tree = tree();
        for (opener, open) in OPENERS {
            for segments in [
                &["nope.txt"][..],
                &["a.txt", "x"],
                &["sub", "nope", "x"],
                &["nul\0"],
            ] {
                let opened = open(&tree.root, &tree.root_path, segments);
                assert_eq!(
                    opened.err(),
                    Some(LookupError::NotFound),
                    "{opener}: {segments:?}"
                );
            }
            let root = open(&tree.root, &tree.root_path, &[]).expect("the root itself");
            assert!(root.metadata().expect("fstat").is_dir(), "{opener}");
        }
    }

    /// A FIFO opens at once (non-blocking) instead of waiting for a writer. Should that
    /// ever break, the test opens the FIFO for writing to release the open, and fails.
    #[test]
    fn a_fifo_opens_without_waiting_for_a_writer() {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
        let tree = tree();
        let fifo = tree.root_path.join("fifo");
        let c_fifo = std::ffi::CString::new(fifo.as_os_str().as_bytes()).expect("no NUL");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_fifo.as_ptr(), 0o644) }, 0);
        for (opener, open) in OPENERS {
            let (root, root_path) = (tree.root.try_clone().expect("dup"), tree.root_path.clone());
            let (opened, on_open) = mpsc::channel();
            let opening = std::thread::spawn(move || {
                let _ = opened.send(open(&root, &root_path, &["fifo"]).map(|f| f.metadata()));
            });
            let result = on_open.recv_timeout(Duration::from_secs(5));
            if result.is_err() {
                let _ = std::fs::OpenOptions::new()
                    .write(true)
                    .custom_flags(libc::O_NONBLOCK)
                    .open(&fifo);
            }
            opening.join().expect("the opening thread");
            let metadata = result
                .unwrap_or_else(|_| panic!("{opener}: opening a FIFO waited for a writer"))
                .expect("opened")
                .expect("fstat");
            assert!(metadata.file_type().is_fifo(), "{opener}");
        }
    }

    #[test]
    fn entries_are_read_from_the_open_folder_without_following_links() {
        let tree = tree();
        let sub = open_beneath(&tree.root, &tree.root_path, &["sub"]).expect("open sub");
        // Renamed away after the open: the listing is still of the folder opened.
        std::fs::rename(tree.root_path.join("sub"), tree.root_path.join("moved")).expect("rename");
        let mut entries = entries(&sub, &tree.root_path.join("sub")).expect("entries");
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let expected = [
            (OsString::from("b.txt"), EntryKind::Other),
            (OsString::from("back.txt"), EntryKind::Symlink),
            (OsString::from("up"), EntryKind::Symlink),
        ];
        assert_eq!(entries, expected);
    }
}
