//! Test harness: a private emulator per test (own port, own state), the greenlight binary
//! pointed at it, and direct reads of AWS state through the emulator.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(name)
}

pub struct Emulator {
    child: Child,
    pub endpoint: String,
}

impl Emulator {
    /// Starts the emulator with AWS time running `time_scale` times faster.
    pub fn start(time_scale: f64) -> Emulator {
        let python = std::env::var_os("GREENLIGHT_EMULATOR_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join(".venv/bin/python"));
        assert!(
            python.exists(),
            "the emulator's Python ({}) is missing: run ./scripts/test, which installs it",
            python.display()
        );
        let mut child = Command::new(&python)
            .args(["-m", "greenlight_emulator", "--port", "0"])
            .env("PYTHONPATH", repo_root().join("emulator"))
            .env("GREENLIGHT_EMULATOR_TIME_SCALE", time_scale.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the emulator");
        let stdout = child.stdout.take().expect("emulator stdout");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let endpoint = loop {
            line.clear();
            let n = reader.read_line(&mut line).expect("read emulator output");
            assert!(n > 0, "the emulator exited before it was ready");
            if let Some(url) = line
                .trim()
                .strip_prefix("greenlight emulator listening on ")
            {
                break url.to_string();
            }
        };
        // Keep draining stdout so the emulator never blocks on a full pipe.
        std::thread::spawn(move || for _ in reader.lines() {});
        Emulator { child, endpoint }
    }

    pub fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.endpoint);
        let agent = ureq::Agent::new_with_defaults();
        let resp = match (method, body) {
            ("GET", _) => agent.get(&url).call(),
            ("DELETE", _) => agent.delete(&url).call(),
            (_, Some(b)) => agent
                .post(&url)
                .content_type("application/json")
                .send(b.to_string()),
            (_, None) => agent.post(&url).send_empty(),
        };
        let mut resp = resp.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Seeds a CODE_DEPLOY service and its CodeDeploy application; returns what was created.
    pub fn seed(&self, args: &[&str]) -> Value {
        let python = std::env::var_os("GREENLIGHT_EMULATOR_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join(".venv/bin/python"));
        let out = Command::new(python)
            .args([
                "-m",
                "greenlight_emulator.seed",
                "--endpoint",
                &self.endpoint,
            ])
            .args(args)
            .env("PYTHONPATH", repo_root().join("emulator"))
            .output()
            .expect("run the seed script");
        assert!(
            out.status.success(),
            "seed failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("seed prints JSON")
    }

    /// Every AWS call the emulator has seen since the last `clear_calls`, as `service:Action`.
    pub fn calls(&self) -> Vec<String> {
        self.control("GET", "/_greenlight/calls", None)["calls"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|c| {
                format!(
                    "{}:{}",
                    c["service"].as_str().unwrap_or("?"),
                    c["action"].as_str().unwrap_or("?")
                )
            })
            .collect()
    }

    pub fn clear_calls(&self) {
        self.control("DELETE", "/_greenlight/calls", None);
    }

    /// Calls that change state in AWS.
    pub fn write_calls(&self) -> Vec<String> {
        const READ_PREFIXES: &[&str] = &["Describe", "List", "Get", "BatchGet"];
        self.calls()
            .into_iter()
            .filter(|c| {
                let action = c.split(':').nth(1).unwrap_or("");
                !READ_PREFIXES.iter().any(|p| action.starts_with(p))
            })
            .collect()
    }

    pub fn control_post(&self, path: &str, body: Value) -> Value {
        self.control("POST", path, Some(body))
    }

    /// Removes every fault (a held `hang` request is then answered).
    pub fn clear_faults(&self) {
        self.control("DELETE", "/_greenlight/faults", None);
    }

    pub fn fault(&self, fault: Value) {
        self.control("POST", "/_greenlight/faults", Some(fault));
    }

    /// An unsigned AWS JSON-protocol call; the emulator does not check signatures.
    pub fn aws(&self, target: &str, body: Value) -> Value {
        let agent = ureq::Agent::new_with_defaults();
        let mut resp = agent
            .post(&self.endpoint)
            .header("X-Amz-Target", target)
            .header("Content-Type", "application/x-amz-json-1.1")
            .header(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20261123/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=0",
            )
            .send(body.to_string())
            .unwrap_or_else(|e| panic!("{target}: {e}"));
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap_or_default())
            .unwrap_or(Value::Null)
    }

    /// An IAM role ECS tasks may assume (a query-protocol CreateRole), for task definitions
    /// that name roles the seed does not create (`verify` checks that they exist).
    pub fn create_task_role(&self, name: &str) {
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let enc = |s: &str| {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect::<String>()
        };
        let body = format!(
            "Action=CreateRole&Version=2010-05-08&RoleName={}&AssumeRolePolicyDocument={}",
            enc(name),
            enc(policy)
        );
        let agent = ureq::Agent::new_with_defaults();
        agent
            .post(&self.endpoint)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20261123/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
            )
            .send(body)
            .unwrap_or_else(|e| panic!("CreateRole {name}: {e}"));
    }

    pub fn service_task_definition(&self, cluster: &str, service: &str) -> String {
        let out = self.aws(
            "AmazonEC2ContainerServiceV20141113.DescribeServices",
            json!({"cluster": cluster, "services": [service]}),
        );
        out["services"][0]["taskDefinition"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The greenlight binary, configured for this emulator and writing outputs to `outputs`.
    pub fn greenlight(&self, outputs: &Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_greenlight"));
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") || k.starts_with("INPUT_") || k.starts_with("GITHUB_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("GREENLIGHT_POLL_MIN_MS", "50")
            .env("GREENLIGHT_POLL_MAX_MS", "200")
            .env("GITHUB_OUTPUT", outputs);
        cmd
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a greenlight run ended: its exit code and its whole log (stdout, then stderr).
pub struct Ran {
    pub code: Option<i32>,
    pub log: String,
}

/// Runs `cmd` to its end.
pub fn ran(cmd: &mut Command) -> Ran {
    let out = cmd.output().expect("run greenlight");
    Ran {
        code: out.status.code(),
        log: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

pub fn outputs(path: &Path) -> std::collections::BTreeMap<String, String> {
    greenlight::gha::parse_outputs(&std::fs::read_to_string(path).unwrap_or_default())
}

/// The `deployment-status` output a run wrote to the outputs file at `path`.
pub fn deployment_status(path: &Path) -> Option<String> {
    outputs(path).remove("deployment-status")
}

/// An emulator seeded with a CODE_DEPLOY service `demo/web`, its ECR image (scan as `extra`
/// says, clean by default) and CodeDeploy application, with the call log cleared.
pub struct Seeded {
    pub emu: Emulator,
    /// Everything the seed script created, as it printed it.
    pub seed: Value,
    /// The seeded image by tag.
    pub image: String,
    /// `repositoryUri@imageDigest`: what the gate pins into the task definition.
    pub pinned: String,
    pub digest: String,
    /// The task definition the service runs before any deploy.
    pub initial_td: String,
    pub dir: tempfile::TempDir,
}

/// AWS minutes pass in 0.1 s: a 5-minute canary takes half a second.
pub const FAST: f64 = 600.0;

pub fn seeded(extra: &[&str]) -> Seeded {
    seeded_at(FAST, extra)
}

/// AWS time at a pace where every traffic step lasts several polls even on a loaded machine
/// (a 1-minute linear step is half a second): for tests that must see each step.
pub const STEPS: f64 = 120.0;

/// `seeded`, with AWS time running `time_scale` times faster.
pub fn seeded_at(time_scale: f64, extra: &[&str]) -> Seeded {
    let emu = Emulator::start(time_scale);
    let mut args = vec![
        "--cluster",
        "demo",
        "--service",
        "web",
        "--family",
        "web",
        "--repository",
        "web",
    ];
    args.extend_from_slice(extra);
    let seed = emu.seed(&args);
    emu.clear_calls();
    let text = |key: &str| {
        seed[key]
            .as_str()
            .unwrap_or_else(|| panic!("seed has no {key}"))
            .to_string()
    };
    Seeded {
        image: text("image"),
        pinned: format!("{}@{}", text("repositoryUri"), text("imageDigest")),
        digest: text("imageDigest"),
        initial_td: text("taskDefinitionArn"),
        seed,
        emu,
        dir: tempfile::tempdir().expect("tempdir"),
    }
}

impl Seeded {
    pub fn out_file(&self) -> PathBuf {
        self.dir.path().join("outputs")
    }
}

/// A deploy config from inputs, with the two required ones filled in.
pub fn deploy_config(pairs: &[(&str, &str)]) -> greenlight::config::DeployConfig {
    let mut m: std::collections::BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    m.entry("task-definition".into())
        .or_insert_with(|| "td.json".into());
    m.entry("service".into()).or_insert_with(|| "web".into());
    greenlight::config::Config::from_inputs(&m)
        .expect("valid inputs")
        .job
        .deploy()
        .cloned()
        .expect("a deploy config")
}

/// A greenlight run followed line by line, for tests that act while it runs (cancel it, promote
/// the deployment it waits for …). Its stderr is collected apart and joins the log at the end.
pub struct Streaming {
    child: std::process::Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
    stderr: Option<std::thread::JoinHandle<String>>,
    /// Everything printed on stdout so far.
    pub log: String,
}

impl Streaming {
    /// Starts `cmd` without reading anything yet.
    pub fn start(cmd: &mut Command) -> Streaming {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start greenlight");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
            text
        });
        Streaming {
            child,
            lines: BufReader::new(stdout).lines(),
            stderr: Some(stderr),
            log: String::new(),
        }
    }

    /// Starts `cmd` and reads its output up to the first line containing `marker`.
    pub fn until(cmd: &mut Command, marker: &str) -> Streaming {
        let mut s = Streaming::start(cmd);
        s.wait_for(marker);
        s
    }

    /// Reads on up to the next line containing `marker`.
    pub fn wait_for(&mut self, marker: &str) {
        for line in self.lines.by_ref() {
            let line = line.expect("a line of output");
            self.log.push_str(&line);
            self.log.push('\n');
            if line.contains(marker) {
                return;
            }
        }
        panic!("`{marker}` never came:\n{}", self.log);
    }

    /// Sends SIGTERM, as a cancelled workflow run does.
    pub fn terminate(&self) {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(killed.success());
    }

    /// Reads the rest and waits: the exit code and the whole log (stdout, then stderr).
    pub fn finish(mut self) -> (Option<i32>, String) {
        for line in self.lines.by_ref() {
            self.log.push_str(&line.expect("a line of output"));
            self.log.push('\n');
        }
        let code = self.child.wait().expect("wait for greenlight").code();
        if let Some(stderr) = self.stderr.take() {
            self.log.push_str(&stderr.join().unwrap_or_default());
        }
        (code, self.log)
    }
}

impl Seeded {
    /// `greenlight deploy` of the seeded image to demo/web with the CodeDeploy fixtures.
    pub fn deploy_command(&self, extra: &[&str]) -> Command {
        let mut cmd = self.emu.greenlight(&self.out_file());
        cmd.args(["deploy", "--cluster", "demo", "--service", "web"])
            .arg("--task-definition")
            .arg(fixture("taskdef.json"))
            .arg("--codedeploy-appspec")
            .arg(fixture("appspec.yml"))
            .args(["--container-name", "web", "--image", &self.image])
            .args(extra);
        cmd
    }

    /// The same deploy as the action in a workflow on pull request 5 of acme/shop, reporting to
    /// the GitHub API at `github`.
    pub fn action_command(&self, github: &str) -> Command {
        let event = self.dir.path().join("event.json");
        std::fs::write(
            &event,
            json!({"pull_request": {"number": 5, "head": {"sha": "abc", "repo": {"full_name": "acme/shop", "fork": false}}}})
                .to_string(),
        )
        .expect("write the event");
        let mut cmd = self.emu.greenlight(&self.out_file());
        cmd.env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", self.dir.path().join("summary.md"))
            .env("GITHUB_EVENT_PATH", &event)
            .env("GITHUB_REPOSITORY", "acme/shop")
            .env("GITHUB_SHA", "abc")
            .env("GITHUB_API_URL", github)
            .env("INPUT_CLUSTER", "demo")
            .env("INPUT_SERVICE", "web")
            .env("INPUT_TASK-DEFINITION", fixture("taskdef.json"))
            .env("INPUT_CODEDEPLOY-APPSPEC", fixture("appspec.yml"))
            .env("INPUT_CONTAINER-NAME", "web")
            .env("INPUT_IMAGE", &self.image);
        cmd
    }
}
