//! The GitHub Actions runner protocol: inputs from `INPUT_*`, outputs to `$GITHUB_OUTPUT`,
//! the step summary, masks, annotations and the event payload.

pub mod commands;
pub mod event;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

pub use commands::{Level, Location};

#[derive(Debug, thiserror::Error)]
pub enum GhaError {
    #[error("cannot write to {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("output name `{0}` is not a valid output name")]
    BadOutputName(String),
}

/// The runner's environment, captured once so tests can point it at temp files.
#[derive(Debug, Clone, Default)]
pub struct Runner {
    /// `GITHUB_ACTIONS=true`: workflow commands go to stdout in the runner's syntax.
    pub in_actions: bool,
    pub output_file: Option<PathBuf>,
    pub summary_file: Option<PathBuf>,
    pub event_file: Option<PathBuf>,
}

impl Runner {
    pub fn from_env() -> Self {
        let path = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Runner {
            in_actions: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
            output_file: path("GITHUB_OUTPUT"),
            summary_file: path("GITHUB_STEP_SUMMARY"),
            event_file: path("GITHUB_EVENT_PATH"),
        }
    }

    /// Writes one output. Without `$GITHUB_OUTPUT` (a local run) it prints `name=value`, so
    /// the CLI still shows its results.
    pub fn set_output(&self, name: &str, value: &str) -> Result<(), GhaError> {
        if name.is_empty() || name.contains(['\n', '\r', '=', '<']) {
            return Err(GhaError::BadOutputName(name.to_string()));
        }
        match &self.output_file {
            Some(path) => append(path, &format_output(name, value)),
            None => {
                println!("{name}={value}");
                Ok(())
            }
        }
    }

    /// Appends markdown to the step summary, secrets redacted; a no-op outside the runner.
    pub fn append_summary(&self, markdown: &str) -> Result<(), GhaError> {
        match &self.summary_file {
            Some(path) => {
                let mut text = crate::redact::redact(markdown);
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                append(path, &text)
            }
            None => Ok(()),
        }
    }

    /// Prints an annotation, secrets redacted: the runner's syntax in Actions, a plain line
    /// elsewhere.
    pub fn annotate(&self, level: Level, loc: &Location, message: &str) {
        let message = &crate::redact::redact(message);
        if self.in_actions {
            println!("{}", commands::annotation(level, loc, message));
        } else {
            let prefix = match level {
                Level::Error => "error",
                Level::Warning => "warning",
                Level::Notice => "notice",
            };
            let place = match (&loc.file, loc.line) {
                // A message that starts with its file says where it is itself.
                (Some(f), _) if message.starts_with(f.as_str()) => String::new(),
                (Some(f), Some(l)) => format!("{f}:{l}: "),
                (Some(f), None) => format!("{f}: "),
                _ => String::new(),
            };
            eprintln!("{prefix}: {place}{message}");
        }
    }

    /// Makes every secret registered with `redact` from now on (this one included) a mask in
    /// the runner too, so that even output greenlight does not write itself (a shell step
    /// after this one, the runner's own log of our outputs) hides it. Called once, first.
    pub fn mask_registered_secrets(&self) {
        let runner = self.clone();
        crate::redact::on_register(move |secret| runner.add_mask(secret));
    }

    /// Registers a secret: redacted from greenlight's output and, once
    /// `mask_registered_secrets` was called, masked by the runner.
    pub fn mask(&self, secret: &str) {
        crate::redact::register(secret);
    }

    fn add_mask(&self, secret: &str) {
        if self.in_actions {
            for line in commands::add_mask(secret) {
                println!("{line}");
            }
        }
    }
}

/// Reads every `INPUT_*` variable into kebab-case names (`INPUT_TASK-DEFINITION` →
/// `task-definition`). The runner upper-cases names, keeps hyphens and turns spaces into
/// underscores; values are trimmed like `core.getInput` does. Empty values are dropped because
/// the runner sets every declared input, empty when the workflow leaves it out.
pub fn inputs_from_env<I>(vars: I) -> BTreeMap<String, String>
where
    I: IntoIterator<Item = (String, String)>,
{
    vars.into_iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix("INPUT_")?;
            let value = v.trim();
            if name.is_empty() || value.is_empty() {
                return None;
            }
            Some((name.to_ascii_lowercase(), value.to_string()))
        })
        .collect()
}

/// The heredoc form of `$GITHUB_OUTPUT`; the delimiter is regenerated until it cannot collide
/// with the value, which is what makes multi-line values safe.
pub fn format_output(name: &str, value: &str) -> String {
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
        ^ u128::from(std::process::id());
    loop {
        let delimiter = format!("ghadelimiter_{seed:x}");
        if !value.contains(&delimiter) && !name.contains(&delimiter) {
            return format!("{name}<<{delimiter}\n{value}\n{delimiter}\n");
        }
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    }
}

fn append(path: &Path, text: &str) -> Result<(), GhaError> {
    let err = |source| GhaError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(err)?;
    file.write_all(text.as_bytes()).map_err(err)
}

/// Parses the heredoc form back; used by tests and by anyone reading our outputs file.
pub fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            out.insert(name.to_string(), value.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_keep_hyphens_and_drop_empty() {
        let vars = vec![
            (
                "INPUT_TASK-DEFINITION".to_string(),
                " task.json \n".to_string(),
            ),
            ("INPUT_CLUSTER".to_string(), "".to_string()),
            ("INPUT_WAIT_UNTIL".to_string(), "ready".to_string()),
            ("PATH".to_string(), "/bin".to_string()),
        ];
        let got = inputs_from_env(vars);
        assert_eq!(
            got.get("task-definition").map(String::as_str),
            Some("task.json")
        );
        assert_eq!(got.get("wait_until").map(String::as_str), Some("ready"));
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn output_heredoc_roundtrips_multiline() {
        let value = "line one\nline two\nghadelimiter_ is in here";
        let text = format_output("diff", value);
        assert!(text.starts_with("diff<<ghadelimiter_"));
        assert_eq!(
            parse_outputs(&text).get("diff").map(String::as_str),
            Some(value)
        );
    }

    #[test]
    fn output_delimiter_avoids_collision() {
        // Whatever delimiter is picked, the value cannot end the heredoc early.
        for _ in 0..50 {
            let text = format_output("x", "ghadelimiter_0\nghadelimiter_1");
            let delim = text
                .lines()
                .next()
                .and_then(|l| l.split_once("<<"))
                .map(|p| p.1);
            let delim = delim.unwrap_or_default().to_string();
            assert_eq!(text.matches(&delim).count(), 2);
        }
    }

    #[test]
    fn the_summary_is_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let runner = Runner {
            in_actions: true,
            summary_file: Some(dir.path().join("sum")),
            ..Default::default()
        };
        crate::redact::register("summary-registered-secret");
        runner
            .append_summary("token summary-registered-secret\nDB_PASSWORD=hunter22")
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("sum")).unwrap(),
            "token ***\nDB_PASSWORD=***\n"
        );
    }

    #[test]
    fn outputs_and_summary_append_to_files() {
        let dir = tempfile::tempdir().unwrap();
        let runner = Runner {
            in_actions: true,
            output_file: Some(dir.path().join("out")),
            summary_file: Some(dir.path().join("sum")),
            event_file: None,
        };
        runner.set_output("a", "1").unwrap();
        runner.set_output("b", "two\nlines").unwrap();
        runner.append_summary("# hi").unwrap();
        runner.append_summary("more").unwrap();
        let outs = parse_outputs(&std::fs::read_to_string(dir.path().join("out")).unwrap());
        assert_eq!(outs.get("a").map(String::as_str), Some("1"));
        assert_eq!(outs.get("b").map(String::as_str), Some("two\nlines"));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("sum")).unwrap(),
            "# hi\nmore\n"
        );
        assert!(runner.set_output("bad\nname", "x").is_err());
    }
}
