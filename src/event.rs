//! The event vocabulary: what the commands, stages and controllers say happened, as plain
//! values. They only emit; the reporters (`report`) decide what the user sees. It sits on the
//! ground floor so that everything can speak it without depending on any reporter.

use tokio::sync::mpsc;

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Info(String),
    Warning(String),
    /// A warning about a line of a user's file (an expired ignore entry, say).
    FileWarning {
        file: String,
        line: Option<usize>,
        message: String,
    },
    /// What the run is about: set first, before anything else happens.
    Target {
        command: String,
        cluster: String,
        service: String,
    },
    ImageResolved {
        image: String,
        digest: String,
    },
    GateVerdict {
        passed: bool,
        summary: String,
        table: String,
    },
    /// The rendered diff against the live revision (empty: no change).
    TaskDefinitionDiff {
        live: String,
        diff: String,
    },
    /// Plan mode ended clean: what merging would do.
    Planned {
        what: String,
    },
    /// `status`: what the service looks like now, as label/value rows.
    ServiceState {
        rows: Vec<(String, String)>,
    },
    /// The run ended with an error (printed by the caller; recorded for the summary).
    RunFailed {
        message: String,
    },
    TaskDefinitionRegistered {
        arn: String,
    },
    DeploymentCreated {
        id: String,
        config: String,
        console_url: String,
    },
    /// CodeDeploy's deployment status changed (Created, InProgress, Ready, Succeeded …).
    Status {
        status: String,
    },
    Lifecycle {
        name: String,
        status: String,
        /// Seconds it took by AWS's own start and end times, once it has ended and AWS gives
        /// both: right even when the whole event fell between two reads.
        took: Option<f64>,
    },
    /// Percent of production traffic on the replacement (green) and original (blue) task sets.
    Traffic {
        green: f64,
        blue: f64,
    },
    /// Task counts of the new revision (ECS deployments).
    Tasks {
        running: i32,
        desired: i32,
        pending: i32,
        failed: i32,
    },
    Failed {
        reason: String,
    },
    StopRequested {
        reason: String,
    },
    RolledBack {
        message: String,
    },
    /// The command ended with this `deployment-status` and exit code.
    Ended {
        status: String,
        exit_code: u8,
    },
    /// A one-off task (RunTask) was started or changed; once STOPPED, how it ended.
    OneOffTask(TaskReport),
    /// A line a one-off task's container wrote to its `awslogs` stream.
    TaskLog {
        task: String,
        container: String,
        line: String,
    },
    /// Why it failed: the targets of a target group that are not healthy, with ELBv2's reason.
    TargetHealth {
        target_group: String,
        /// (target id:port, state, reason, description)
        targets: Vec<(String, String, String, String)>,
    },
    /// The CloudWatch alarms watching the deployment, as last read.
    Alarms(Vec<AlarmState>),
    /// Why the deployment failed: one stopped task of the new revision.
    Diagnosis(TaskReport),
    /// The last lines of a failed container's log, and where the whole stream is.
    DiagnosisLog {
        task: String,
        container: String,
        lines: Vec<String>,
        url: String,
    },
    /// An event of one service of several (`config`): logged with its name, summarised apart.
    Scoped {
        scope: String,
        event: Box<Event>,
    },
}

/// One CloudWatch alarm and its state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlarmState {
    pub name: String,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    pub reason: Option<String>,
}

/// A one-off task as the reports show it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskReport {
    pub arn: String,
    /// The task definition it runs.
    pub revision: Option<String>,
    /// ECS's `lastStatus` (PROVISIONING … STOPPED).
    pub status: String,
    pub stopped_reason: Option<String>,
    pub stop_code: Option<String>,
    /// Filled once the task has stopped.
    pub containers: Vec<ContainerEnd>,
    /// The console page of the task.
    pub console_url: String,
}

impl TaskReport {
    /// The task's id: the last part of its ARN.
    pub fn id(&self) -> &str {
        self.arn.rsplit('/').next().unwrap_or(&self.arn)
    }
}

/// How one container of a stopped task ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerEnd {
    pub name: String,
    pub essential: bool,
    /// None: it never ran (or ECS does not know).
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
}

impl ContainerEnd {
    /// An essential container that did not exit 0 fails the task.
    pub fn failed(&self) -> bool {
        self.essential && self.exit_code != Some(0)
    }
}

/// The sending side the stages hold. Sending never fails a deployment: if the reporter is gone
/// the event is dropped.
#[derive(Debug, Clone)]
pub struct Progress {
    tx: mpsc::UnboundedSender<Event>,
    scope: Option<String>,
}

/// A progress sender and the receiving end, for callers (and tests) that consume events
/// themselves.
pub fn channel() -> (Progress, mpsc::UnboundedReceiver<Event>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Progress { tx, scope: None }, rx)
}

impl Progress {
    pub fn emit(&self, event: Event) {
        let event = match &self.scope {
            Some(scope) => Event::Scoped {
                scope: scope.clone(),
                event: Box::new(event),
            },
            None => event,
        };
        let _ = self.tx.send(event);
    }

    /// A sender whose events belong to one service of several.
    pub fn scoped(&self, scope: impl Into<String>) -> Progress {
        Progress {
            tx: self.tx.clone(),
            scope: Some(scope.into()),
        }
    }
}
