//! The CloudWatch alarms that stop or roll back a deployment (a CodeDeploy group's
//! `alarmConfiguration`, an ECS service's `deploymentConfiguration.alarms`): shown with their
//! state when the deployment starts, and named with their state reason when one stopped it.
//! A report only: a read that fails is a warning.

use crate::aws::Clients;
use crate::error::{Error, Result};
use crate::event::{AlarmState, Event, Progress};

/// DescribeAlarms takes at most 100 names.
const MAX_NAMES: usize = 100;

/// The alarms' states, in the order named.
pub async fn read(clients: &Clients, names: &[String]) -> Result<Vec<AlarmState>> {
    let names: Vec<String> = names.iter().take(MAX_NAMES).cloned().collect();
    let out = clients
        .cloudwatch
        .describe_alarms()
        .set_alarm_names(Some(names.clone()))
        .send()
        .await
        .map_err(|e| Error::aws("DescribeAlarms", &e))?;
    Ok(names
        .iter()
        .map(|name| {
            let alarm = out
                .metric_alarms()
                .iter()
                .find(|a| a.alarm_name() == Some(name.as_str()));
            match alarm {
                Some(a) => AlarmState {
                    name: name.clone(),
                    state: a
                        .state_value()
                        .map_or("UNKNOWN".to_string(), |s| s.as_str().to_string()),
                    reason: a.state_reason().map(str::to_string),
                },
                None => AlarmState {
                    name: name.clone(),
                    state: "MISSING".into(),
                    reason: Some("CloudWatch has no alarm of that name".into()),
                },
            }
        })
        .collect())
}

/// Says which alarms watch the deployment and how they stand; one already in ALARM is a
/// warning, since it stops the deployment as soon as it starts.
pub async fn announce(clients: &Clients, names: &[String], progress: &Progress) {
    if names.is_empty() {
        return;
    }
    match read(clients, names).await {
        Ok(states) => {
            progress.emit(Event::Alarms(states.clone()));
            for a in states.iter().filter(|a| a.state == "ALARM") {
                progress.emit(Event::Warning(format!(
                    "CloudWatch alarm {} is already in ALARM ({}): it stops the deployment as soon as it starts",
                    a.name,
                    a.reason.as_deref().unwrap_or("no reason given")
                )));
            }
        }
        Err(e) => progress.emit(Event::Warning(warning(names, &e))),
    }
}

fn warning(names: &[String], e: &Error) -> String {
    let denied = matches!(e, Error::Aws { code: Some(c), .. } if c.starts_with("AccessDenied"));
    if denied {
        format!(
            "the alarms watching the deployment ({}) could not be read: the credentials lack cloudwatch:DescribeAlarms",
            names.join(", ")
        )
    } else {
        format!(
            "the alarms watching the deployment ({}) could not be read: {e}",
            names.join(", ")
        )
    }
}

/// After a failure: the alarms' states again, and each one in ALARM named with its reason.
pub async fn after_failure(clients: &Clients, names: &[String], progress: &Progress) {
    if names.is_empty() {
        return;
    }
    match read(clients, names).await {
        Ok(states) => {
            for a in states.iter().filter(|a| a.state == "ALARM") {
                progress.emit(Event::Info(format!(
                    "why it failed: CloudWatch alarm {} is in ALARM: {}",
                    a.name,
                    a.reason.as_deref().unwrap_or("no reason given")
                )));
            }
            progress.emit(Event::Alarms(states));
        }
        Err(e) => progress.emit(Event::Warning(warning(names, &e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_read_names_the_permission() {
        let e = Error::Aws {
            service: "CloudWatch",
            operation: "DescribeAlarms",
            code: Some("AccessDenied".into()),
            message: "no".into(),
        };
        assert!(warning(&["web-5xx".into()], &e).contains("cloudwatch:DescribeAlarms"));
    }
}
