//! One watch loop for every controller: read the deployment, report what changed, and stop it
//! (with rollback unless told otherwise) when time runs out, the run is cancelled, or the
//! controller sees it cannot succeed. Each controller only knows how to read and how to stop.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::{DeployConfig, VerbConfig, WaitUntil};
use crate::controllers::poll::Poller;
use crate::error::Result;
use crate::event::{Event, Progress};

/// How long to keep watching after a stop before giving up on seeing the end state.
pub const STOP_GRACE: Duration = Duration::from_secs(5 * 60);
/// Consecutive failed reads tolerated while watching (after the SDK's own retries).
const MAX_READ_FAILURES: u32 = 5;

/// How long and how far to follow a deployment, and what to do when time runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchOptions {
    pub wait_minutes: u32,
    pub rollback_on_timeout: bool,
    pub wait_until: WaitUntil,
    /// CodeDeploy: wait out the original task set's termination wait too.
    pub wait_for_stability: bool,
    /// CodeDeploy canary/linear: the time between two traffic steps.
    pub step_interval: Option<Duration>,
    /// The longest wait between two reads (`wait-max-delay-seconds`); absent, the poller's.
    pub poll_max: Option<Duration>,
    /// When the run's clock already started (it waited for the deployment in flight first):
    /// the one deadline `wait-for-minutes` gives the whole run. Absent: `wait_minutes` from the
    /// start of the watch.
    pub deadline: Option<Instant>,
}

impl From<&DeployConfig> for WatchOptions {
    fn from(d: &DeployConfig) -> Self {
        WatchOptions {
            wait_minutes: d.wait_minutes,
            rollback_on_timeout: d.rollback_on_timeout,
            wait_until: d.wait_until,
            wait_for_stability: d.wait_for_stability,
            step_interval: None,
            poll_max: d.poll_max,
            deadline: None,
        }
    }
}

impl From<&VerbConfig> for WatchOptions {
    fn from(v: &VerbConfig) -> Self {
        WatchOptions {
            wait_minutes: v.wait_minutes,
            rollback_on_timeout: v.rollback_on_timeout,
            wait_until: WaitUntil::Complete,
            wait_for_stability: false,
            step_interval: None,
            poll_max: v.poll_max,
            deadline: None,
        }
    }
}

/// How the watch ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchEnd {
    pub status: String,
    pub exit_code: u8,
}

impl WatchEnd {
    pub fn new(status: impl Into<String>, exit_code: u8) -> Self {
        WatchEnd {
            status: status.into(),
            exit_code,
        }
    }
}

/// Where one read found the deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    Running,
    /// The replacement serves test traffic and waits for promotion.
    Ready,
    /// Ended; the tracker has reported how.
    Ended(WatchEnd),
    /// Still running but bound to fail (tasks cannot be placed, say): stop it now rather than
    /// spin to the timeout.
    Doomed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// Anything new since the last read: the poller reads sooner after a change.
    pub changed: bool,
    pub phase: Phase,
    /// When the next transition is expected, if the controller can tell (the end of a
    /// canary or linear step): the poller reads just after it.
    pub due: Option<Duration>,
}

/// What a stop request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// Asked for; the next reads show the way to the end state.
    Requested,
    /// It had ended on its own before the call; the next read reports how.
    AlreadyEnded,
    /// There is nothing more to follow (the controller cannot stop without rollback).
    Abandoned(WatchEnd),
}

/// A deployment being followed, whatever its controller.
pub trait Tracker {
    /// Reads the deployment once and emits what changed.
    fn observe(&mut self, progress: &Progress) -> impl Future<Output = Result<Observation>>;
    /// Stops it, rolling back when `rollback`.
    fn stop(&mut self, rollback: bool) -> impl Future<Output = Result<Stop>>;
    /// How the log names it.
    fn name(&self) -> String;
    /// The service and the id `promote` takes, when the deployment can wait for promotion.
    fn promotion(&self) -> Option<Promotion> {
        None
    }
    /// What the log says when it is stopped for `reason`.
    fn stop_event(&self, reason: String, rollback: bool) -> Event {
        Event::StopRequested {
            reason: format!(
                "{reason}; {}",
                if rollback {
                    "rolling back"
                } else {
                    "without rollback (rollback-on-timeout: false)"
                }
            ),
        }
    }
    /// Whether a timeout or cancellation may stop it. CodeDeploy's own rollback deployment may
    /// not: stopping it leaves production traffic wherever it is at that moment.
    fn may_stop(&self) -> bool {
        true
    }
}

/// What the operator needs to promote a deployment waiting for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    pub cluster: String,
    pub service: String,
    pub deployment_id: String,
}

impl Promotion {
    /// The log lines that say how to promote it, from a terminal and from a workflow.
    pub fn how(&self) -> Vec<String> {
        let Promotion {
            cluster,
            service,
            deployment_id,
        } = self;
        // Inside the action the step can name the very action and version that runs.
        let uses = match (
            std::env::var("GITHUB_ACTION_REPOSITORY")
                .ok()
                .filter(|r| !r.is_empty()),
            std::env::var("GITHUB_ACTION_REF")
                .ok()
                .filter(|r| !r.is_empty()),
        ) {
            (Some(repo), Some(r#ref)) => format!("{repo}@{ref}"),
            _ => "your-org/greenlight@v1".to_string(),
        };
        vec![
            "  promote it from a terminal:".to_string(),
            format!(
                "    greenlight promote --cluster {cluster} --service {service} --deployment-id {deployment_id}"
            ),
            "  or from a workflow step:".to_string(),
            format!("    - uses: {uses}"),
            "      with:".to_string(),
            "        command: promote".to_string(),
            format!("        cluster: {cluster}"),
            format!("        service: {service}"),
            format!("        deployment-id: {deployment_id}"),
        ]
    }
}

/// Follows the deployment until it ends (or is READY when that is what was asked). `cancel`
/// resolves, with the reason to report, when the run is cancelled (SIGTERM/SIGINT) or another
/// service's failure ends an all-or-nothing run; the deployment is then stopped like on timeout.
///
/// Every read is raced against the deadline (the grace period once stopping) and the cancel
/// signal, so a request stuck inside a frozen endpoint delays neither. Reads that fail because
/// AWS did not answer or throttled are retried on the poll schedule until the deadline; other
/// failures end the watch after `MAX_READ_FAILURES` in a row.
pub async fn watch<T: Tracker>(
    tracker: &mut T,
    opts: &WatchOptions,
    progress: &Progress,
    poller: Poller,
    cancel: impl Future<Output = String>,
) -> Result<WatchEnd> {
    let mut poller = poller.at_most(opts.poll_max);
    let deadline = opts
        .deadline
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(u64::from(opts.wait_minutes) * 60));
    let mut failures = 0;
    let mut last_warning: Option<Instant> = None;
    let mut stopped_at: Option<Instant> = None;
    let mut ready_said = false;
    tokio::pin!(cancel);
    loop {
        let limit = stopped_at.map_or(deadline, |at| at + STOP_GRACE);
        // Once a stop is under way the cancel signal has nothing left to do (and a resolved
        // future must not be polled again).
        let read = tokio::select! {
            biased;
            reason = &mut cancel, if stopped_at.is_none() => Read::Cancelled(reason),
            r = tracker.observe(progress) => Read::Done(r),
            () = tokio::time::sleep_until(limit) => Read::OutOfTime,
        };
        let obs = match read {
            Read::Cancelled(reason) => {
                if let Some(end) = stop(tracker, opts, progress, reason).await? {
                    return Ok(end);
                }
                stopped_at = Some(Instant::now());
                continue;
            }
            Read::OutOfTime if stopped_at.is_some() => return Ok(no_end_after_stop(progress)),
            Read::OutOfTime => {
                progress.emit(Event::Warning(format!(
                    "reading deployment {} got no answer before the deadline",
                    tracker.name()
                )));
                let reason = format!("no end state after {} minutes", opts.wait_minutes);
                if let Some(end) = stop(tracker, opts, progress, reason).await? {
                    return Ok(end);
                }
                stopped_at = Some(Instant::now());
                continue;
            }
            Read::Done(Ok(o)) => {
                failures = 0;
                last_warning = None;
                o
            }
            Read::Done(Err(e)) => {
                if !e.is_transient() {
                    if failures >= MAX_READ_FAILURES {
                        return Err(e);
                    }
                    failures += 1;
                }
                // A dead endpoint is said at once, then once a minute, not on every poll.
                if last_warning.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
                    last_warning = Some(Instant::now());
                    progress.emit(Event::Warning(format!(
                        "reading deployment {} failed ({e}); trying again{}",
                        tracker.name(),
                        if e.is_transient() && stopped_at.is_none() {
                            format!(
                                " until it answers or {} minutes have passed",
                                opts.wait_minutes
                            )
                        } else {
                            String::new()
                        }
                    )));
                }
                Observation {
                    changed: false,
                    phase: Phase::Running,
                    due: None,
                }
            }
        };
        match obs.phase {
            Phase::Ended(end) => return Ok(end),
            Phase::Ready if opts.wait_until == WaitUntil::Ready && stopped_at.is_none() => {
                progress.emit(Event::Info(format!(
                    "deployment {} is READY: the replacement serves test traffic and waits for promotion",
                    tracker.name()
                )));
                say_how_to_promote(tracker, progress);
                return Ok(WatchEnd::new("Ready", 0));
            }
            // Waiting to the end of a deployment that waits for promotion: say so at once, or
            // the log stays silent until the timeout.
            Phase::Ready if !ready_said && stopped_at.is_none() => {
                ready_said = true;
                let left = deadline.saturating_duration_since(Instant::now()).as_secs() / 60;
                progress.emit(Event::Info(format!(
                    "deployment {} is READY and waits for promotion: the replacement serves test traffic, and production traffic moves only once it is promoted; waiting for that (wait-until: complete), {left} more minutes at most before it is stopped{}",
                    tracker.name(),
                    if opts.rollback_on_timeout {
                        " with rollback"
                    } else {
                        " without rollback"
                    }
                )));
                say_how_to_promote(tracker, progress);
            }
            Phase::Doomed(reason) if stopped_at.is_none() => {
                if let Some(end) = stop(tracker, opts, progress, reason).await? {
                    return Ok(end);
                }
                stopped_at = Some(Instant::now());
                continue;
            }
            _ => {}
        }

        let now = Instant::now();
        if let Some(at) = stopped_at {
            let grace_end = at + STOP_GRACE;
            if now >= grace_end {
                return Ok(no_end_after_stop(progress));
            }
            tokio::time::sleep(poller.next(obs.changed).min(grace_end - now)).await;
            continue;
        }
        if now >= deadline {
            let reason = format!("no end state after {} minutes", opts.wait_minutes);
            if let Some(end) = stop(tracker, opts, progress, reason).await? {
                return Ok(end);
            }
            stopped_at = Some(now);
            continue;
        }
        let wait = poller.next_before(obs.changed, obs.due).min(deadline - now);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            reason = &mut cancel => {
                if let Some(end) = stop(tracker, opts, progress, reason).await? {
                    return Ok(end);
                }
                stopped_at = Some(Instant::now());
            }
        }
    }
}

fn say_how_to_promote<T: Tracker>(tracker: &T, progress: &Progress) {
    for line in tracker.promotion().map(|p| p.how()).unwrap_or_default() {
        progress.emit(Event::Info(line));
    }
}

/// One bounded read of the deployment.
enum Read {
    Done(Result<Observation>),
    Cancelled(String),
    /// The deadline (or the grace after a stop) passed while the read was in flight.
    OutOfTime,
}

fn no_end_after_stop(progress: &Progress) -> WatchEnd {
    progress.emit(Event::Failed {
        reason: format!("no end state {} s after the stop", STOP_GRACE.as_secs()),
    });
    WatchEnd::new("Stopping", 1)
}

/// Reports and requests the stop; `Some` when there is nothing more to watch.
async fn stop<T: Tracker>(
    tracker: &mut T,
    opts: &WatchOptions,
    progress: &Progress,
    reason: String,
) -> Result<Option<WatchEnd>> {
    if !tracker.may_stop() {
        progress.emit(Event::Failed {
            reason: format!(
                "rollback deployment {}: {reason}; it was left running, not stopped, since stopping it would leave production traffic wherever it is now: follow it in the console, or run abort again to wait for it",
                tracker.name()
            ),
        });
        return Ok(Some(WatchEnd::new("RollbackInProgress", 1)));
    }
    let rollback = opts.rollback_on_timeout;
    progress.emit(tracker.stop_event(reason.clone(), rollback));
    let stopped = match tracker.stop(rollback).await {
        Ok(s) => s,
        Err(e) => {
            // Where the service stands is unknown: say so, and which call failed.
            progress.emit(Event::Failed {
                reason: format!(
                    "{reason}, and stopping deployment {} failed ({e}): it may still be in progress; check it in the console",
                    tracker.name()
                ),
            });
            return Err(e);
        }
    };
    match stopped {
        Stop::Requested | Stop::AlreadyEnded => Ok(None),
        Stop::Abandoned(end) => {
            progress.emit(Event::Failed { reason });
            Ok(Some(end))
        }
    }
}

#[cfg(test)]
mod tests {
    //! The watch's bounds in paused time: a read that never answers, one that keeps failing,
    //! a stop that never answers. Every wait here is virtual, so a minute costs nothing.

    use std::collections::VecDeque;

    use super::*;
    use crate::error::Error;
    use crate::event;

    /// What one call does: answer, fail as unreachable, or never return.
    enum Step<T> {
        Answer(T),
        Unavailable,
        Hang,
    }

    struct Scripted {
        reads: VecDeque<Step<Phase>>,
        /// Once the script runs out, every further read does this, before and after a stop.
        then: fn() -> Step<Phase>,
        after_stop: fn() -> Step<Phase>,
        stop: Step<Stop>,
        stops: Vec<(bool, Duration)>,
        reads_made: usize,
        started: Instant,
    }

    impl Scripted {
        fn new(
            reads: Vec<Step<Phase>>,
            then: fn() -> Step<Phase>,
            after_stop: fn() -> Step<Phase>,
            stop: Step<Stop>,
        ) -> Self {
            Scripted {
                reads: reads.into(),
                then,
                after_stop,
                stop,
                stops: Vec::new(),
                reads_made: 0,
                started: Instant::now(),
            }
        }
    }

    fn unavailable() -> Error {
        Error::AwsUnavailable {
            service: "CodeDeploy",
            operation: "GetDeployment",
            code: None,
            message: "no answer within 10 s".into(),
        }
    }

    impl Tracker for Scripted {
        async fn observe(&mut self, _progress: &Progress) -> Result<Observation> {
            self.reads_made += 1;
            let step = match self.reads.pop_front() {
                Some(step) => step,
                None if self.stops.is_empty() => (self.then)(),
                None => (self.after_stop)(),
            };
            match step {
                Step::Answer(phase) => Ok(Observation {
                    changed: false,
                    phase,
                    due: None,
                }),
                Step::Unavailable => Err(unavailable()),
                Step::Hang => std::future::pending().await,
            }
        }

        async fn stop(&mut self, rollback: bool) -> Result<Stop> {
            self.stops.push((rollback, self.started.elapsed()));
            match &self.stop {
                Step::Answer(s) => Ok(s.clone()),
                Step::Unavailable => Err(unavailable()),
                Step::Hang => std::future::pending().await,
            }
        }

        fn name(&self) -> String {
            "d-TEST".into()
        }
    }

    fn stopped() -> Step<Phase> {
        Step::Answer(Phase::Ended(WatchEnd::new("Stopped", 1)))
    }

    fn running() -> Step<Phase> {
        Step::Answer(Phase::Running)
    }

    fn hang() -> Step<Phase> {
        Step::Hang
    }

    fn fail() -> Step<Phase> {
        Step::Unavailable
    }

    /// Watches with a one-minute deadline: how it ended, how long it took, what it said.
    async fn run(
        tracker: &mut Scripted,
        cancel: impl Future<Output = String>,
    ) -> (Result<WatchEnd>, Duration, Vec<String>) {
        run_until(tracker, cancel, None).await
    }

    /// `run`, with the run's clock started earlier: `left` is what remains of its deadline.
    async fn run_until(
        tracker: &mut Scripted,
        cancel: impl Future<Output = String>,
        left: Option<Duration>,
    ) -> (Result<WatchEnd>, Duration, Vec<String>) {
        let opts = WatchOptions {
            wait_minutes: 1,
            rollback_on_timeout: true,
            wait_until: WaitUntil::Complete,
            wait_for_stability: false,
            step_interval: None,
            poll_max: None,
            deadline: left.map(|l| Instant::now() + l),
        };
        let (progress, mut rx) = event::channel();
        let start = Instant::now();
        let poller = Poller::new(Duration::from_secs(2), Duration::from_secs(15));
        // A watch that never ends fails here at once: paused time jumps to this bound.
        let end = tokio::time::timeout(
            Duration::from_secs(3600),
            watch(tracker, &opts, &progress, poller, cancel),
        )
        .await
        .expect("the watch ends within the hour");
        let took = start.elapsed();
        drop(progress);
        let mut lines = Vec::new();
        while let Some(e) = rx.recv().await {
            lines.push(crate::report::log_line(&e));
        }
        (end, took, lines)
    }

    fn never() -> impl Future<Output = String> {
        std::future::pending()
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_that_never_answers_is_cut_at_the_deadline_and_the_deployment_stopped() {
        let mut t = Scripted::new(
            vec![running()],
            hang,
            stopped,
            Step::Answer(Stop::Requested),
        );
        let (end, took, lines) = run(&mut t, never()).await;
        assert_eq!(end.unwrap(), WatchEnd::new("Stopped", 1));
        assert_eq!(t.stops, vec![(true, Duration::from_secs(60))]);
        assert!(took < Duration::from_secs(61), "{took:?}");
        assert!(
            lines
                .iter()
                .any(|l| l.contains("got no answer before the deadline")),
            "{lines:?}"
        );
    }

    /// `wait-max-delay-seconds` caps the backoff: a quiet deployment is read every 3 s, not at
    /// up to 15 s.
    #[tokio::test(start_paused = true)]
    async fn wait_max_delay_seconds_caps_the_time_between_reads() {
        let reads = |poll_max: Option<Duration>| async move {
            let mut t = Scripted::new(vec![], running, stopped, Step::Answer(Stop::Requested));
            let opts = WatchOptions {
                wait_minutes: 1,
                rollback_on_timeout: true,
                wait_until: WaitUntil::Complete,
                wait_for_stability: false,
                step_interval: None,
                poll_max,
                deadline: None,
            };
            let (progress, _rx) = event::channel();
            let poller = Poller::new(Duration::from_secs(2), Duration::from_secs(15));
            watch(&mut t, &opts, &progress, poller, never())
                .await
                .unwrap();
            t.reads_made
        };
        let backing_off = reads(None).await;
        let capped = reads(Some(Duration::from_secs(3))).await;
        // A minute at 2 s, then 3 s: about 20 reads; backing off to 15 s: under 10.
        assert!(capped >= 18, "{capped}");
        assert!(backing_off < 10, "{backing_off}");
    }

    /// A run that first waited for the deployment in flight has only what is left of its
    /// `wait-for-minutes` to watch its own.
    #[tokio::test(start_paused = true)]
    async fn a_deadline_started_earlier_is_the_one_the_watch_keeps() {
        let mut t = Scripted::new(vec![], running, stopped, Step::Answer(Stop::Requested));
        let (end, _, _) = run_until(&mut t, never(), Some(Duration::from_secs(20))).await;
        assert_eq!(end.unwrap(), WatchEnd::new("Stopped", 1));
        assert_eq!(t.stops.len(), 1, "{:?}", t.stops);
        let (_, at) = t.stops[0];
        assert!(
            at >= Duration::from_secs(20) && at < Duration::from_secs(25),
            "stopped at {at:?}, not at the run's deadline"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancel_interrupts_a_read_that_never_answers() {
        let mut t = Scripted::new(vec![], hang, stopped, Step::Answer(Stop::Requested));
        let cancel = async {
            tokio::time::sleep(Duration::from_secs(7)).await;
            "the run was cancelled".to_string()
        };
        let (end, _, lines) = run(&mut t, cancel).await;
        assert_eq!(end.unwrap(), WatchEnd::new("Stopped", 1));
        assert_eq!(t.stops, vec![(true, Duration::from_secs(7))]);
        assert!(
            lines
                .iter()
                .any(|l| l.contains("the run was cancelled; rolling back")),
            "{lines:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn unreachable_reads_are_retried_until_the_deadline_and_warned_about_once_a_minute() {
        let mut t = Scripted::new(vec![], fail, stopped, Step::Answer(Stop::Requested));
        let (end, took, lines) = run(&mut t, never()).await;
        assert_eq!(end.unwrap(), WatchEnd::new("Stopped", 1));
        assert_eq!(t.stops.len(), 1, "stopped once, at the deadline");
        assert_eq!(t.stops[0].1, Duration::from_secs(60));
        // Retried on the poll schedule (2 s backing off to 15 s), never longer than the cap.
        assert!(t.reads_made >= 7, "{} reads", t.reads_made);
        assert!(took <= Duration::from_secs(60 + 15), "{took:?}");
        let warnings = lines
            .iter()
            .filter(|l| l.contains("reading deployment d-TEST failed"))
            .count();
        assert!(warnings <= 2, "{warnings} warnings in {lines:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_never_followed_by_an_end_gives_up_after_the_grace() {
        let mut t = Scripted::new(vec![running()], hang, hang, Step::Answer(Stop::Requested));
        let (end, took, lines) = run(&mut t, never()).await;
        assert_eq!(end.unwrap(), WatchEnd::new("Stopping", 1));
        assert_eq!(took, Duration::from_secs(60) + STOP_GRACE);
        assert!(
            lines
                .iter()
                .any(|l| l.contains("no end state 300 s after the stop")),
            "{lines:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_that_fails_says_the_deployment_may_still_be_in_progress() {
        let mut t = Scripted::new(vec![], hang, hang, Step::Unavailable);
        let (end, took, lines) = run(&mut t, never()).await;
        assert!(matches!(end, Err(Error::AwsUnavailable { .. })), "{end:?}");
        assert_eq!(took, Duration::from_secs(60));
        assert!(
            lines
                .iter()
                .any(|l| l.contains("stopping deployment d-TEST failed")
                    && l.contains("may still be in progress")),
            "{lines:?}"
        );
    }
}

#[cfg(test)]
mod rollback_tests {
    use super::*;

    /// CodeDeploy's rollback, still rerouting: it never ends and must never be stopped.
    struct Rollback {
        stops: u32,
    }

    impl Tracker for Rollback {
        async fn observe(&mut self, _: &Progress) -> Result<Observation> {
            Ok(Observation {
                changed: false,
                phase: Phase::Running,
                due: None,
            })
        }
        async fn stop(&mut self, _: bool) -> Result<Stop> {
            self.stops += 1;
            Ok(Stop::Requested)
        }
        fn name(&self) -> String {
            "d-ROLLBACK1".into()
        }
        fn may_stop(&self) -> bool {
            false
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_rollback_that_times_out_is_left_running_and_said_so() {
        let (progress, mut rx) = crate::event::channel();
        let mut t = Rollback { stops: 0 };
        let opts = WatchOptions {
            wait_minutes: 1,
            rollback_on_timeout: true,
            wait_until: WaitUntil::Complete,
            wait_for_stability: false,
            step_interval: None,
            poll_max: None,
            deadline: None,
        };
        let poller = Poller::new(Duration::from_secs(2), Duration::from_secs(15));
        let end = watch(&mut t, &opts, &progress, poller, std::future::pending())
            .await
            .unwrap();
        assert_eq!(end, WatchEnd::new("RollbackInProgress", 1));
        assert_eq!(t.stops, 0, "a rollback deployment is never stopped");
        drop(progress);
        let mut said = Vec::new();
        while let Ok(e) = rx.try_recv() {
            said.push(e);
        }
        assert!(
            said.iter()
                .all(|e| !matches!(e, Event::StopRequested { .. })),
            "{said:?}"
        );
        assert!(
            said.contains(&Event::Failed {
                reason: "rollback deployment d-ROLLBACK1: no end state after 1 minutes; it was left running, not stopped, since stopping it would leave production traffic wherever it is now: follow it in the console, or run abort again to wait for it".into()
            }),
            "{said:?}"
        );
    }
}
