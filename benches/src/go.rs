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
        /// The built `weirbench` binary (the seed's patterns).
        binary: PathBuf,
        /// The directory holding the built plain programs
        /// ([`PLAIN_PROGRAMS`]), each `weirbench-go-<name>`.
        plain_dir: PathBuf,
    },
    /// No Go toolchain, or the build failed: the Go columns are "n/a".
    Unavailable(String),
}

/// Workloads whose Go side is a plain program of its own
/// (`benches/go/<name>/main.go`, run as `<name> <cap> <n>`), not a mode of
/// the `weirbench` binary: the program a Go programmer writes, with nothing
/// else in the process, so that its number reproduces with `go run`.
pub const PLAIN_PROGRAMS: [&str; 3] = ["handpipe", "select", "windowed"];

/// `go build -o <binary> <package>` in [`source_dir`].
fn go_build(binary: &Path, package: &str) -> Result<(), String> {
    let built = Command::new("go")
        .arg("build")
        .arg("-o")
        .arg(binary)
        .arg(package)
        .current_dir(source_dir())
        .output();
    match built {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "`go build {package}` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!("`go build` did not run: {e}")),
    }
}

impl GoSide {
    /// Builds `benches/go` and its plain programs into `out_dir` (never
    /// into the source tree).
    pub fn build(out_dir: &Path) -> GoSide {
        let Some(version) = command_line("go", &["version"]) else {
            return GoSide::Unavailable(
                "`go` is not installed (apt-get install golang-go): Go columns are n/a".into(),
            );
        };
        let binary = out_dir.join("weirbench-go");
        let built = go_build(&binary, ".").and_then(|()| {
            PLAIN_PROGRAMS.iter().try_for_each(|name| {
                go_build(
                    &out_dir.join(format!("weirbench-go-{name}")),
                    &format!("./{name}"),
                )
            })
        });
        match built {
            Ok(()) => GoSide::Built {
                version,
                binary,
                plain_dir: out_dir.to_path_buf(),
            },
            Err(why) => GoSide::Unavailable(why),
        }
    }

    /// The program and leading arguments that run Go's side of `workload`:
    /// its plain program, or `weirbench <workload>`. `None` without Go.
    pub fn command(&self, workload: &str) -> Option<(PathBuf, Vec<String>)> {
        let GoSide::Built {
            binary, plain_dir, ..
        } = self
        else {
            return None;
        };
        Some(if PLAIN_PROGRAMS.contains(&workload) {
            (
                plain_dir.join(format!("weirbench-go-{workload}")),
                Vec::new(),
            )
        } else {
            (binary.clone(), vec![workload.to_string()])
        })
    }

    /// A one-line description for the report.
    pub fn describe(&self) -> String {
        match self {
            GoSide::Built { version, .. } => version.clone(),
            GoSide::Unavailable(why) => why.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_programs_run_on_their_own_the_rest_through_weirbench() {
        let go = GoSide::Built {
            version: "go".into(),
            binary: PathBuf::from("/t/weirbench-go"),
            plain_dir: PathBuf::from("/t"),
        };
        let (program, args) = go.command("handpipe").expect("built");
        assert_eq!(program, Path::new("/t/weirbench-go-handpipe"));
        assert!(args.is_empty());
        let (program, args) = go.command("select").expect("built");
        assert_eq!(program, Path::new("/t/weirbench-go-select"));
        assert!(args.is_empty());
        let (program, args) = go.command("hop").expect("built");
        assert_eq!(program, Path::new("/t/weirbench-go"));
        assert_eq!(args, ["hop"]);
        assert!(GoSide::Unavailable("no".into()).command("hop").is_none());
    }

    /// Every plain program has its source next to `main.go`.
    #[test]
    fn every_plain_program_has_a_source() {
        for name in PLAIN_PROGRAMS {
            assert!(source_dir().join(name).join("main.go").is_file(), "{name}");
        }
    }
}
