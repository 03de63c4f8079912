//! Building the Go side (`benches/go`) and describing it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::sysinfo::command_line;

/// The Go module with the seed's patterns.
pub fn source_dir() -> PathBuf {
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("go");
    // A binary kept in a shared target directory may outlive the checkout
    // it was built from: then use the checkout it is run from.
    if built_from.is_dir() {
        built_from
    } else {
        PathBuf::from("benches/go")
    }
}

/// The Go toolchain and the built benchmark binary, or why there is none.
#[derive(Debug, Clone)]
pub enum GoSide {
    /// `go build` succeeded.
    Built {
        /// `go version`.
        version: String,
        /// The built `weirbench` binary.
        binary: PathBuf,
    },
    /// No Go toolchain, or the build failed: the Go columns are "n/a".
    Unavailable(String),
}

impl GoSide {
    /// Builds `benches/go` into `out_dir` (never into the source tree).
    pub fn build(out_dir: &Path) -> GoSide {
        let Some(version) = command_line("go", &["version"]) else {
            return GoSide::Unavailable(
                "`go` is not installed (apt-get install golang-go): Go columns are n/a".into(),
            );
        };
        let binary = out_dir.join("weirbench-go");
        let built = Command::new("go")
            .arg("build")
            .arg("-o")
            .arg(&binary)
            .arg(".")
            .current_dir(source_dir())
            .output();
        match built {
            Ok(out) if out.status.success() => GoSide::Built { version, binary },
            Ok(out) => GoSide::Unavailable(format!(
                "`go build` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => GoSide::Unavailable(format!("`go build` did not run: {e}")),
        }
    }

    /// A one-line description for the report.
    pub fn describe(&self) -> String {
        match self {
            GoSide::Built { version, .. } => version.clone(),
            GoSide::Unavailable(why) => why.clone(),
        }
    }
}
