//! Files on disk: the temporary file a body streams into, and moving it to
//! its final, never-overwritten name under `uploads/YYYY/MM/DD/`.
//!
//! Every file made here is owned by a guard that deletes it when dropped,
//! unless the upload was recorded: a failure, a refusal or a client that
//! goes away midway leaves nothing behind.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::names::random_hex;

/// Where bodies stream to, inside the media folder (a hidden folder, which
/// `/media` does not serve).
pub fn temp_dir(media_dir: &Path) -> PathBuf {
    media_dir.join(".tmp")
}

/// Files that are deleted when this guard drops, unless kept.
#[derive(Debug, Default)]
pub struct Owned {
    paths: Vec<PathBuf>,
}

impl Owned {
    /// Takes charge of `path`.
    pub fn push(&mut self, path: PathBuf) {
        self.paths.push(path);
    }

    /// The files stay: the upload was recorded.
    pub fn keep(mut self) {
        self.paths.clear();
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        for path in &self.paths {
            if let Err(e) = std::fs::remove_file(path) {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(path = %path.display(), error = %e, "cannot remove an upload file");
                }
            }
        }
    }
}

/// Removes temporary files older than `max_age`: what a crash or a kill
/// in the middle of an upload left behind (a live upload's file is younger).
pub fn sweep_stale(media_dir: &Path, max_age: std::time::Duration) {
    let Ok(entries) = std::fs::read_dir(temp_dir(media_dir)) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > max_age);
        if stale && entry.file_name().to_string_lossy().ends_with(".part") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// A new temporary file's path (the caller creates it with `create_new`).
pub fn temp_path(media_dir: &Path) -> PathBuf {
    temp_dir(media_dir).join(format!("{}.part", random_hex(16)))
}

/// The folder of today's uploads: its path on disk and as a URL path.
pub fn day_folder(media_dir: &Path, now: chrono::DateTime<chrono::Utc>) -> (PathBuf, String) {
    let day = now.format("%Y/%m/%d").to_string();
    (
        media_dir.join("uploads").join(&day),
        format!("/media/uploads/{day}"),
    )
}

/// A stored file: its name in the day folder and its path on disk.
pub struct Placed {
    pub name: String,
    pub path: PathBuf,
}

/// Gives the temporary file `temp` its final name `<stem>_<random>.<ext>`
/// in `dir`. A hard link fails rather than replace an existing file (a
/// rename would silently overwrite); where links are not possible the
/// bytes are copied into a file created with `create_new`.
pub fn place(temp: &Path, dir: &Path, stem: &str, ext: &str) -> io::Result<Placed> {
    std::fs::create_dir_all(dir)?;
    for _ in 0..8 {
        let name = format!("{stem}_{}.{ext}", random_hex(8));
        let path = dir.join(&name);
        match std::fs::hard_link(temp, &path) {
            Ok(()) => return Ok(Placed { name, path }),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(_) => {
                let mut out = match OpenOptions::new().write(true).create_new(true).open(&path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(e),
                };
                let copied = std::fs::File::open(temp)
                    .and_then(|mut src| io::copy(&mut src, &mut out))
                    .and_then(|_| out.flush());
                if let Err(e) = copied {
                    let _ = std::fs::remove_file(&path);
                    return Err(e);
                }
                return Ok(Placed { name, path });
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free file name after 8 tries",
    ))
}

/// Writes `bytes` to a new file `path`, never replacing one.
pub fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).create_new(true).open(path)?;
    if let Err(e) = f.write_all(bytes).and_then(|_| f.flush()) {
        let _ = std::fs::remove_file(path);
        return Err(e);
    }
    Ok(())
}
