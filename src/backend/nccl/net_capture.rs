//! Makes NCCL say which network it selected. Before NCCL starts, collbench points NCCL_DEBUG_FILE
//! at a private file and sets NCCL_DEBUG=INFO with NCCL_DEBUG_SUBSYS=INIT,NET; once the
//! communicators exist it reads that file (`net_log` parses it) and removes it.
//!
//! What the user set wins ([`decide`]), whether in the environment or in NCCL's configuration
//! files (NCCL_CONF_FILE or ~/.nccl.conf, then /etc/nccl.conf):
//! - nothing: the private file as above (NCCL's default level prints nothing, so nothing the user
//!   would have seen goes missing);
//! - NCCL_DEBUG_FILE: that file is read (with NCCL's `%h`/`%p` expanded) and kept; NCCL_DEBUG is
//!   raised to INFO only if it was not set;
//! - NCCL_DEBUG without NCCL_DEBUG_FILE: logging is left alone (INFO goes to standard output,
//!   WARN must stay visible), and the network is reported as unknown, with the reason.
//!
//! NCCL reads these variables when it first logs (during ncclGetUniqueId or communicator init),
//! so they are set in-process before that, by [`NcclLogCapture::install`].

use super::net_log::selected_network;
use crate::report::network::NetSelection;
use crate::report::network::ProcessNetwork;
use std::fmt;
use std::path::{Path, PathBuf};

pub const DEBUG: &str = "NCCL_DEBUG";
pub const DEBUG_FILE: &str = "NCCL_DEBUG_FILE";
pub const DEBUG_SUBSYS: &str = "NCCL_DEBUG_SUBSYS";
/// "Using network X" is logged under INIT; the OFI plugin's "Selected Provider" line under
/// INIT|NET. Nothing else is asked for, so the log stays a few lines long and the INFO checks on
/// NCCL's launch path stay off.
pub const CAPTURE_SUBSYS: &str = "INIT,NET";
/// The private log's name inside its directory.
const PRIVATE_LOG_NAME: &str = "nccl.log";

/// Where a user's setting came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Environment,
    ConfFile(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Environment => write!(f, "the environment"),
            Origin::ConfFile(path) => write!(f, "{}", path.display()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSetting {
    pub value: String,
    pub origin: Origin,
}

impl UserSetting {
    fn shown(&self, name: &str) -> String {
        format!("{name}={} (set in {})", self.value, self.origin)
    }
}

/// NCCL's logging settings as the user left them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserLogSettings {
    pub debug: Option<UserSetting>,
    pub debug_file: Option<UserSetting>,
    pub debug_subsys: Option<UserSetting>,
}

impl UserLogSettings {
    /// The settings NCCL will see: the environment first, then `conf_files` (path, text) in NCCL's
    /// reading order, since NCCL only takes a file's value for a variable that is still unset.
    /// Empty values count as unset.
    pub fn resolve(
        env: &dyn Fn(&str) -> Option<String>,
        conf_files: &[(PathBuf, String)],
    ) -> UserLogSettings {
        let lookup = |name: &str| -> Option<UserSetting> {
            if let Some(value) = env(name).filter(|v| !v.is_empty()) {
                return Some(UserSetting {
                    value,
                    origin: Origin::Environment,
                });
            }
            conf_files.iter().find_map(|(path, text)| {
                conf_value(text, name)
                    .filter(|v| !v.is_empty())
                    .map(|value| UserSetting {
                        value,
                        origin: Origin::ConfFile(path.clone()),
                    })
            })
        };
        UserLogSettings {
            debug: lookup(DEBUG),
            debug_file: lookup(DEBUG_FILE),
            debug_subsys: lookup(DEBUG_SUBSYS),
        }
    }

    /// This process's environment and NCCL's configuration files.
    pub fn of_this_process() -> UserLogSettings {
        let env = |name: &str| std::env::var(name).ok();
        let files: Vec<(PathBuf, String)> = conf_file_paths(&env)
            .into_iter()
            .filter_map(|path| {
                let text = std::fs::read_to_string(&path).ok()?;
                Some((path, text))
            })
            .collect();
        UserLogSettings::resolve(&env, &files)
    }
}

/// NCCL's configuration files in the order it reads them: NCCL_CONF_FILE if set, else
/// $HOME/.nccl.conf; then /etc/nccl.conf.
pub fn conf_file_paths(env: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    match env("NCCL_CONF_FILE").filter(|v| !v.is_empty()) {
        Some(file) => paths.push(PathBuf::from(file)),
        None => {
            if let Some(home) = env("HOME").filter(|v| !v.is_empty()) {
                paths.push(Path::new(&home).join(".nccl.conf"));
            }
        }
    }
    paths.push(PathBuf::from("/etc/nccl.conf"));
    paths
}

/// The value a configuration file gives `name`, read as NCCL does: `NAME=VALUE` lines, taken
/// literally (no trimming), `#` at the start of a line for comments; the first line wins.
pub fn conf_value(text: &str, name: &str) -> Option<String> {
    text.lines()
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key == name).then(|| value.to_string())
        })
}

/// What collbench does with NCCL's logging.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaptureDecision {
    /// Nothing was set: a private file, NCCL_DEBUG=INFO, NCCL_DEBUG_SUBSYS=INIT,NET.
    Private,
    /// The user's NCCL_DEBUG_FILE (NCCL's pattern, `%h`/`%p` not yet expanded) is read and kept;
    /// `raise_level`: NCCL_DEBUG was not set and collbench sets INFO.
    UserFile { pattern: String, raise_level: bool },
    /// Logging stays as the user set it and the network is unknown, for this reason.
    LeaveAlone { reason: String },
}

fn is_info_or_more(level: &str) -> bool {
    matches!(level.trim().to_ascii_uppercase().as_str(), "INFO" | "TRACE")
}

/// The capture that respects `user` (see the module documentation).
pub fn decide(user: &UserLogSettings) -> CaptureDecision {
    match (&user.debug, &user.debug_file) {
        (None, None) => CaptureDecision::Private,
        (None, Some(file)) => CaptureDecision::UserFile {
            pattern: file.value.clone(),
            raise_level: true,
        },
        (Some(level), Some(file)) if is_info_or_more(&level.value) => CaptureDecision::UserFile {
            pattern: file.value.clone(),
            raise_level: false,
        },
        (Some(level), Some(file)) => CaptureDecision::LeaveAlone {
            reason: format!(
                "{} writes no INFO lines to {}; set NCCL_DEBUG=INFO, or unset NCCL_DEBUG, to have \
                 collbench report the network",
                level.shown(DEBUG),
                file.shown(DEBUG_FILE)
            ),
        },
        (Some(level), None) if is_info_or_more(&level.value) => CaptureDecision::LeaveAlone {
            reason: format!(
                "{} without NCCL_DEBUG_FILE sends NCCL's log to standard output, which collbench \
                 does not read; also set NCCL_DEBUG_FILE (e.g. /tmp/nccl.%h.%p.log), or unset \
                 NCCL_DEBUG",
                level.shown(DEBUG)
            ),
        },
        (Some(level), None) => CaptureDecision::LeaveAlone {
            reason: format!(
                "{} is left as the user set it, so NCCL logs no INFO lines; unset NCCL_DEBUG \
                 (collbench then logs to a private file) or set NCCL_DEBUG=INFO with \
                 NCCL_DEBUG_FILE",
                level.shown(DEBUG)
            ),
        },
    }
}

impl CaptureDecision {
    /// The variables to set before NCCL starts. `private_file_value` is the private file as an
    /// NCCL_DEBUG_FILE value ([`nccl_file_value`]); only `Private` uses it.
    pub fn variables(&self, private_file_value: &str) -> Vec<(&'static str, String)> {
        match self {
            CaptureDecision::Private => vec![
                (DEBUG, "INFO".to_string()),
                (DEBUG_SUBSYS, CAPTURE_SUBSYS.to_string()),
                (DEBUG_FILE, private_file_value.to_string()),
            ],
            CaptureDecision::UserFile {
                raise_level: true, ..
            } => vec![(DEBUG, "INFO".to_string())],
            _ => Vec::new(),
        }
    }
}

/// NCCL expands `%h`, `%p` and `%%` in NCCL_DEBUG_FILE: a literal path needs its `%` doubled.
/// `None` for a path that is not UTF-8 (NCCL would get another name).
pub fn nccl_file_value(path: &Path) -> Option<String> {
    path.to_str().map(|p| p.replace('%', "%%"))
}

/// The file NCCL opens for `pattern`: `%h` the host name (cut at the first `.`, with `%` and `/`
/// as `-`), `%p` the process id, `%%` a `%`; anything else is kept as written, as NCCL does.
pub fn expand_pattern(pattern: &str, host: &str, pid: u32) -> PathBuf {
    let host: String = host
        .split('.')
        .next()
        .unwrap_or_default()
        .chars()
        .map(|c| if c == '%' || c == '/' { '-' } else { c })
        .collect();
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('h') => out.push_str(&host),
            Some('p') => out.push_str(&pid.to_string()),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    PathBuf::from(out)
}

/// The process id in an NCCL log line (`host:pid:tid [dev] NCCL INFO …`, maybe after a timestamp
/// or an mpirun `[1,0]<stdout>:` prefix).
fn line_pid(line: &str) -> Option<u32> {
    let head = &line[..line.find(" NCCL ")?];
    let token = head
        .split_whitespace()
        .rev()
        .find(|t| t.matches(':').count() >= 2)?;
    let mut fields = token.rsplitn(3, ':');
    let _tid = fields.next()?;
    fields.next()?.parse().ok()
}

/// The selection in `log_text`, from this process's lines only (a shared NCCL_DEBUG_FILE without
/// `%p` holds every process's lines). Lines without a recognisable process id are kept.
pub fn selection_of_process(log_text: &str, pid: u32) -> Option<NetSelection> {
    let own: String = log_text
        .lines()
        .filter(|line| line_pid(line).is_none_or(|p| p == pid))
        .map(|line| format!("{line}\n"))
        .collect();
    selected_network(&own)
}

/// What to read after NCCL's init.
#[derive(Debug)]
enum LogSource {
    Private { dir: PathBuf, file: PathBuf },
    UserFile { pattern: String },
    Unknown { reason: String },
}

/// The NCCL log capture of this process: set up by [`NcclLogCapture::install`] before NCCL
/// starts, read once the communicators exist ([`NcclLogCapture::read`]). Dropping it removes the
/// private directory.
#[derive(Debug)]
pub struct NcclLogCapture {
    source: LogSource,
    /// The user's NCCL_DEBUG_SUBSYS, named when a log has no network line.
    user_subsys: Option<UserSetting>,
}

impl NcclLogCapture {
    /// Decides from this process's settings, creates the private directory (0700, in $TMPDIR)
    /// when collbench owns the log, and sets the variables.
    ///
    /// Call it before any other thread of the process exists: `std::env::set_var` changes the C
    /// environment that libnccl (and MPI's threads) read with getenv, and glibc's setenv/getenv
    /// are not safe to run concurrently. Rust's own lock only covers Rust readers. collbench calls
    /// it first thing in a run, before the signal handlers, the watchdog thread and MPI_Init.
    pub fn install() -> NcclLogCapture {
        let user = UserLogSettings::of_this_process();
        let decision = decide(&user);
        let (source, private_value) = match &decision {
            CaptureDecision::Private => match private_log() {
                Ok((dir, file, value)) => (LogSource::Private { dir, file }, value),
                Err(reason) => (LogSource::Unknown { reason }, String::new()),
            },
            CaptureDecision::UserFile { pattern, .. } => (
                LogSource::UserFile {
                    pattern: pattern.clone(),
                },
                String::new(),
            ),
            CaptureDecision::LeaveAlone { reason } => (
                LogSource::Unknown {
                    reason: reason.clone(),
                },
                String::new(),
            ),
        };
        let variables = match source {
            LogSource::Unknown { .. } => Vec::new(),
            _ => decision.variables(&private_value),
        };
        let user_values: Vec<(String, Option<String>)> = variables
            .iter()
            .map(|(name, _)| (name.to_string(), std::env::var(name).ok()))
            .collect();
        for (name, value) in &variables {
            std::env::set_var(name, value);
        }
        crate::report::env::record_own_settings(user_values);
        NcclLogCapture {
            source,
            user_subsys: user.debug_subsys,
        }
    }

    /// Reads what NCCL logged (call it after the communicators were created) for this process's
    /// `ranks` on `host`, then removes the private log. A log that cannot be read or names no
    /// network gives an unknown selection with the reason.
    pub fn read(&mut self, host: &str, ranks: Vec<usize>) -> ProcessNetwork {
        let pid = std::process::id();
        let (selection, unknown_reason) = match &self.source {
            LogSource::Unknown { reason } => (None, Some(reason.clone())),
            LogSource::Private { file, .. } => {
                let result = read_log(file, pid, None);
                self.remove_private();
                result
            }
            LogSource::UserFile { pattern } => {
                let file = expand_pattern(pattern, &nccl_host_name(), pid);
                read_log(&file, pid, self.user_subsys.as_ref())
            }
        };
        if let (LogSource::Private { .. }, Some(reason)) = (&self.source, &unknown_reason) {
            // Later reads give the same answer without the (removed) file.
            self.source = LogSource::Unknown {
                reason: reason.clone(),
            };
        }
        ProcessNetwork {
            host: host.to_string(),
            pid,
            ranks,
            selection,
            unknown_reason,
        }
    }

    fn remove_private(&mut self) {
        if let LogSource::Private { dir, file } = &self.source {
            // NCCL keeps the file open and may append to it: on Linux the unlinked file lives on
            // until the process exits, without a name anyone could reuse.
            let _ = std::fs::remove_file(file);
            let _ = std::fs::remove_dir(dir);
        }
    }
}

impl Drop for NcclLogCapture {
    fn drop(&mut self) {
        self.remove_private();
    }
}

/// Reads and parses one log file.
fn read_log(
    file: &Path,
    pid: u32,
    user_subsys: Option<&UserSetting>,
) -> (Option<NetSelection>, Option<String>) {
    match std::fs::read_to_string(file) {
        Err(error) => (
            None,
            Some(format!(
                "could not read NCCL's log {}: {error}",
                file.display()
            )),
        ),
        Ok(text) => match selection_of_process(&text, pid) {
            Some(selection) => (Some(selection), None),
            None => (
                None,
                Some(format!(
                    "NCCL's log {} names no network{}",
                    file.display(),
                    user_subsys
                        .map(|s| format!(" ({} may leave out INIT)", s.shown(DEBUG_SUBSYS)))
                        .unwrap_or_default()
                )),
            ),
        },
    }
}

/// A new 0700 directory in $TMPDIR and the log file inside it (with its NCCL_DEBUG_FILE value).
fn private_log() -> std::result::Result<(PathBuf, PathBuf, String), String> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::temp_dir();
    let pid = std::process::id();
    for attempt in 0..64u32 {
        let dir = base.join(format!("collbench-nccl-{pid}-{attempt}"));
        // create() fails on anything already there, symlinks included: the file NCCL opens is
        // inside a directory only this process made.
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {
                let file = dir.join(PRIVATE_LOG_NAME);
                return match nccl_file_value(&file) {
                    Some(value) => Ok((dir, file, value)),
                    None => {
                        let _ = std::fs::remove_dir(&dir);
                        Err(format!(
                            "the temporary directory {} is not a UTF-8 path NCCL_DEBUG_FILE can name",
                            base.display()
                        ))
                    }
                };
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(error) => {
                return Err(format!(
                    "could not create a private NCCL log directory in {} ({error}); set TMPDIR \
                     to a writable directory",
                    base.display()
                ))
            }
        }
    }
    Err(format!(
        "could not create a private NCCL log directory in {}: 64 names were taken",
        base.display()
    ))
}

/// The host name NCCL's `%h` uses (the kernel's, without the test hook of `crate::world`).
fn nccl_host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn settings(pairs: &[(&str, &str)]) -> UserLogSettings {
        UserLogSettings::resolve(&env_of(pairs), &[])
    }

    #[test]
    fn nothing_set_means_a_private_info_log() {
        let decision = decide(&settings(&[]));
        assert_eq!(decision, CaptureDecision::Private);
        assert_eq!(
            decision.variables("/tmp/collbench-nccl-7-0/nccl.log"),
            vec![
                ("NCCL_DEBUG", "INFO".to_string()),
                ("NCCL_DEBUG_SUBSYS", "INIT,NET".to_string()),
                (
                    "NCCL_DEBUG_FILE",
                    "/tmp/collbench-nccl-7-0/nccl.log".to_string()
                ),
            ]
        );
        // NCCL_DEBUG_SUBSYS alone prints nothing (the level is NONE): it is replaced in the
        // private log, and reports show the user's value (crate::report::env).
        assert_eq!(
            decide(&settings(&[("NCCL_DEBUG_SUBSYS", "COLL")])),
            CaptureDecision::Private
        );
        // An empty value is unset, as NCCL reads it.
        assert_eq!(
            decide(&settings(&[("NCCL_DEBUG", "")])),
            CaptureDecision::Private
        );
    }

    #[test]
    fn a_user_file_is_read_and_the_level_raised_only_if_unset() {
        let decision = decide(&settings(&[("NCCL_DEBUG_FILE", "/logs/nccl.%h.%p")]));
        assert_eq!(
            decision,
            CaptureDecision::UserFile {
                pattern: "/logs/nccl.%h.%p".into(),
                raise_level: true
            }
        );
        assert_eq!(
            decision.variables("unused"),
            vec![("NCCL_DEBUG", "INFO".to_string())]
        );
        let info = decide(&settings(&[
            ("NCCL_DEBUG_FILE", "/logs/n.log"),
            ("NCCL_DEBUG", "info"),
        ]));
        assert_eq!(
            info,
            CaptureDecision::UserFile {
                pattern: "/logs/n.log".into(),
                raise_level: false
            }
        );
        assert!(info.variables("unused").is_empty());
    }

    #[test]
    fn a_user_level_without_a_file_is_left_alone_with_a_reason() {
        let warn = decide(&settings(&[("NCCL_DEBUG", "WARN")]));
        let CaptureDecision::LeaveAlone { reason } = &warn else {
            panic!("{warn:?}")
        };
        assert!(
            reason.contains("NCCL_DEBUG=WARN (set in the environment)"),
            "{reason}"
        );
        assert!(warn.variables("unused").is_empty());
        let info = decide(&settings(&[("NCCL_DEBUG", "INFO")]));
        let CaptureDecision::LeaveAlone { reason } = &info else {
            panic!("{info:?}")
        };
        assert!(reason.contains("standard output"), "{reason}");
        assert!(reason.contains("NCCL_DEBUG_FILE"), "{reason}");
        let warn_file = decide(&settings(&[
            ("NCCL_DEBUG", "WARN"),
            ("NCCL_DEBUG_FILE", "/l/x"),
        ]));
        assert!(
            matches!(&warn_file, CaptureDecision::LeaveAlone { reason } if reason.contains("writes no INFO lines to NCCL_DEBUG_FILE=/l/x")),
            "{warn_file:?}"
        );
    }

    #[test]
    fn configuration_files_count_as_user_settings_after_the_environment() {
        let files = vec![
            (
                PathBuf::from("/home/u/.nccl.conf"),
                "# comment\nNCCL_DEBUG=WARN\nNCCL_DEBUG=INFO\n".to_string(),
            ),
            (
                PathBuf::from("/etc/nccl.conf"),
                "NCCL_DEBUG=TRACE\nNCCL_DEBUG_FILE=/var/log/nccl.%p\n".to_string(),
            ),
        ];
        let got = UserLogSettings::resolve(&env_of(&[]), &files);
        assert_eq!(
            got.debug,
            Some(UserSetting {
                value: "WARN".into(),
                origin: Origin::ConfFile("/home/u/.nccl.conf".into())
            })
        );
        assert_eq!(got.debug_file.as_ref().unwrap().value, "/var/log/nccl.%p");
        let CaptureDecision::LeaveAlone { reason } = decide(&got) else {
            panic!()
        };
        assert!(reason.contains("set in /home/u/.nccl.conf"), "{reason}");
        // The environment wins over every file.
        let env_first = UserLogSettings::resolve(&env_of(&[("NCCL_DEBUG", "INFO")]), &files);
        assert_eq!(env_first.debug.unwrap().origin, Origin::Environment);
        assert_eq!(conf_value("#NCCL_DEBUG=INFO\n", "NCCL_DEBUG"), None);
        assert_eq!(
            conf_value("NCCL_DEBUG=INFO\r\n", "NCCL_DEBUG").as_deref(),
            Some("INFO")
        );
        assert_eq!(conf_value(" NCCL_DEBUG=INFO", "NCCL_DEBUG"), None);
    }

    #[test]
    fn configuration_files_are_found_where_nccl_looks() {
        assert_eq!(
            conf_file_paths(&env_of(&[("HOME", "/home/u")])),
            vec![
                PathBuf::from("/home/u/.nccl.conf"),
                PathBuf::from("/etc/nccl.conf")
            ]
        );
        assert_eq!(
            conf_file_paths(&env_of(&[
                ("HOME", "/home/u"),
                ("NCCL_CONF_FILE", "/c/n.conf")
            ])),
            vec![PathBuf::from("/c/n.conf"), PathBuf::from("/etc/nccl.conf")]
        );
    }

    #[test]
    fn file_patterns_expand_like_nccl() {
        assert_eq!(
            expand_pattern("/l/nccl.%h.%p.log", "node-1.cluster", 42),
            PathBuf::from("/l/nccl.node-1.42.log")
        );
        assert_eq!(
            expand_pattern("/l/a%%b%x%", "h", 1),
            PathBuf::from("/l/a%b%x%")
        );
        assert_eq!(
            expand_pattern("/l/%h", "we%ird/x", 1),
            PathBuf::from("/l/we-ird-x")
        );
        assert_eq!(
            nccl_file_value(Path::new("/tmp/100%/nccl.log")).as_deref(),
            Some("/tmp/100%%/nccl.log")
        );
        // Round trip: what collbench sets is the file NCCL opens.
        let value = nccl_file_value(Path::new("/t/%p%h/x")).unwrap();
        assert_eq!(expand_pattern(&value, "h", 9), PathBuf::from("/t/%p%h/x"));
    }

    #[test]
    fn a_shared_log_is_read_for_this_process_only() {
        let log = "\
a:100:100 [0] NCCL INFO Using network Socket
[2025-11-20 10:00:01] b:200:201 [1] NCCL INFO NET/OFI Selected Provider is efa (found 4 nics)
[2025-11-20 10:00:01] b:200:201 [1] NCCL INFO Using network Libfabric
[1,3]<stdout>:c:300:300 [0] NCCL INFO Using network IB
";
        assert_eq!(selection_of_process(log, 100).unwrap().network, "Socket");
        let efa = selection_of_process(log, 200).unwrap();
        assert!(efa.satisfies("efa"), "{efa:?}");
        assert_eq!(selection_of_process(log, 300).unwrap().network, "IB");
        assert_eq!(selection_of_process(log, 400), None);
        assert_eq!(line_pid("x:1:2 [0] NCCL INFO y"), Some(1));
        assert_eq!(line_pid("no mark here"), None);
    }

    #[test]
    fn reading_a_private_log_parses_it_and_removes_it() {
        let dir =
            std::env::temp_dir().join(format!("collbench-test-capture-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("nccl.log");
        let pid = std::process::id();
        std::fs::write(
            &file,
            format!("h:{pid}:{pid} [0] NCCL INFO Using network Socket\n"),
        )
        .unwrap();
        let mut capture = NcclLogCapture {
            source: LogSource::Private {
                dir: dir.clone(),
                file: file.clone(),
            },
            user_subsys: None,
        };
        let got = capture.read("h", vec![0, 1]);
        assert_eq!(got.selection.unwrap().network, "Socket");
        assert_eq!(got.ranks, vec![0, 1]);
        assert_eq!(got.unknown_reason, None);
        assert!(!file.exists() && !dir.exists());

        // An empty log: unknown, and the reason stays for later reads.
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&file, "").unwrap();
        let mut capture = NcclLogCapture {
            source: LogSource::Private {
                dir: dir.clone(),
                file: file.clone(),
            },
            user_subsys: None,
        };
        let first = capture.read("h", vec![0]);
        assert!(
            first
                .unknown_reason
                .as_deref()
                .unwrap()
                .contains("names no network"),
            "{first:?}"
        );
        assert_eq!(
            capture.read("h", vec![0]).unknown_reason,
            first.unknown_reason
        );
        assert!(!dir.exists());
    }

    #[test]
    fn a_missing_user_log_is_unknown_with_the_path() {
        let mut capture = NcclLogCapture {
            source: LogSource::UserFile {
                pattern: "/nonexistent/collbench/nccl.%p.log".into(),
            },
            user_subsys: None,
        };
        let got = capture.read("h", vec![3]);
        let reason = got.unknown_reason.unwrap();
        assert!(
            reason.contains(&format!(
                "/nonexistent/collbench/nccl.{}.log",
                std::process::id()
            )),
            "{reason}"
        );
    }
}
