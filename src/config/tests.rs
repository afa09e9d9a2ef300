use super::*;

fn inputs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn base() -> Vec<(&'static str, &'static str)> {
    vec![("task-definition", "taskdef.json"), ("service", "web")]
}

fn fleet_from(yaml: &str, extra: &[(&str, &str)]) -> Result<Fleet> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("services.yml");
    std::fs::write(&path, yaml).unwrap();
    let mut pairs = vec![("config", path.to_str().unwrap())];
    pairs.extend_from_slice(extra);
    match Config::from_inputs(&inputs(&pairs))?.job {
        Job::Fleet(f) => Ok(f),
        other => panic!("not a fleet: {other:?}"),
    }
}

#[test]
fn a_config_file_lists_services_that_override_the_step_inputs() {
    let f = fleet_from(
        "services:\n  - service: web\n    task-definition: web.json\n  - service: api\n    cluster: other\n    task-definition: api.json\n    wait-for-minutes: 5\n    container-name: [api, proxy]\n    image: [a:1, b:2]\n",
        &[("cluster", "prod"), ("all-or-nothing", "true")],
    )
    .unwrap();
    assert!(f.all_or_nothing && !f.plan);
    let names: Vec<(&str, &str)> = f
        .services
        .iter()
        .map(|d| (d.cluster.as_str(), d.service.as_str()))
        .collect();
    assert_eq!(names, vec![("prod", "web"), ("other", "api")]);
    assert_eq!(f.services[1].wait_minutes, 5);
    assert_eq!(f.services[0].wait_minutes, 30);
    assert_eq!(f.services[1].deployment_group, "DgpECS-other-api");
    assert_eq!(
        f.services[1].images,
        vec![("api".into(), "a:1".into()), ("proxy".into(), "b:2".into())]
    );
}

#[test]
fn config_entries_are_checked_with_their_place_in_the_file() {
    let typo = fleet_from(
        "services:\n  - service: web\n    task-defintion: web.json\n",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(typo.contains("services[0].task-defintion"), "{typo}");
    assert!(typo.contains("did you mean `task-definition`?"), "{typo}");
    let run_only = fleet_from(
        "services:\n  - service: web\n    task-definition: a.json\n    command: plan\n",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(run_only.contains("services[0].command"), "{run_only}");
    let missing = fleet_from("services:\n  - service: web\n", &[])
        .unwrap_err()
        .to_string();
    assert!(missing.contains("services[0].task-definition"), "{missing}");
    let twice = fleet_from(
        "services:\n  - {service: web, task-definition: a.json}\n  - {service: web, task-definition: b.json}\n",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(twice.contains("lists default/web a second time"), "{twice}");
    let empty = fleet_from("services: []\n", &[]).unwrap_err();
    assert_eq!(empty.exit_code(), 2);
}

#[test]
fn defaults_follow_the_aws_action() {
    let c = Config::from_inputs(&inputs(&base()))
        .unwrap()
        .job
        .deploy()
        .cloned()
        .unwrap();
    assert_eq!(c.cluster, "default");
    assert_eq!(c.application, "AppECS-default-web");
    assert_eq!(c.deployment_group, "DgpECS-default-web");
    assert_eq!(c.wait_minutes, 30);
    assert_eq!(c.wait_until, WaitUntil::Complete);
    assert!(c.rollback_on_timeout);
}

#[test]
fn unknown_input_suggests_the_right_one() {
    let mut i = base();
    i.push(("wait_until", "ready"));
    let e = Config::from_inputs(&inputs(&i)).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("did you mean `wait-until`?"), "{e}");
    let mut i = base();
    i.push(("taskdefinition", "x"));
    let e = Config::from_inputs(&inputs(&i)).unwrap_err();
    assert!(
        e.to_string().contains("did you mean `task-definition`?"),
        "{e}"
    );
}

#[test]
fn missing_required_input() {
    let e = Config::from_inputs(&inputs(&[("service", "web")])).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("input `task-definition`: is required"),
        "{e}"
    );
}

#[test]
fn contradictory_waits() {
    let mut i = base();
    i.push(("wait-until", "none"));
    i.push(("wait-for-service-stability", "true"));
    let e = Config::from_inputs(&inputs(&i)).unwrap_err();
    assert!(e.to_string().contains("contradicts"), "{e}");
}

#[test]
fn bad_values_are_named() {
    for (k, v, needle) in [
        ("wait-until", "soon", "not one of none, ready, complete"),
        ("wait-for-minutes", "ten", "not a whole number"),
        ("wait-for-minutes", "0", "leaves no time"),
        ("rollback-on-timeout", "yes", "not a boolean"),
        ("command", "launch", "not a command"),
        ("service", "web app", "not a valid ECS service name"),
        ("container-name", "web", "no `image`"),
    ] {
        let mut i = base();
        i.retain(|(name, _)| *name != k);
        i.push((k, v));
        let e = Config::from_inputs(&inputs(&i)).unwrap_err();
        assert!(e.to_string().contains(needle), "{k}={v}: {e}");
        assert!(e.to_string().starts_with(&format!("input `{k}`")), "{e}");
    }
}

#[test]
fn images_pair_with_containers() {
    let mut i = base();
    i.push(("container-name", "web, sidecar"));
    i.push(("image", "repo/web:1,repo/side:2"));
    let c = deploy_of(&i);
    assert_eq!(
        c.images,
        vec![
            ("web".into(), "repo/web:1".into()),
            ("sidecar".into(), "repo/side:2".into())
        ]
    );
    let mut i = base();
    i.push(("container-name", "web,sidecar"));
    i.push(("image", "repo/web:1"));
    assert!(Config::from_inputs(&inputs(&i)).is_err());
}

#[test]
fn long_wait_is_capped_with_a_warning() {
    let mut i = base();
    i.push(("wait-for-minutes", "1000"));
    let c = Config::from_inputs(&inputs(&i)).unwrap();
    assert_eq!(c.warnings.len(), 1);
    assert_eq!(deploy_of(&i).wait_minutes, MAX_WAIT_MINUTES);
}

#[test]
fn long_description_is_cut_to_512() {
    let long = "x".repeat(600);
    let mut i = base();
    i.push(("codedeploy-deployment-description", long.as_str()));
    assert_eq!(deploy_of(&i).description.map(|d| d.len()), Some(512));
}

fn deploy_of(i: &[(&str, &str)]) -> DeployConfig {
    Config::from_inputs(&inputs(i))
        .unwrap()
        .job
        .deploy()
        .cloned()
        .unwrap()
}

#[test]
fn gate_defaults_fail_closed() {
    let g = deploy_of(&base()).gate;
    assert!(g.enabled);
    assert_eq!(
        g.policy.thresholds,
        crate::stages::scan_gate::policy::Thresholds::parse("CRITICAL=0,HIGH=0").unwrap()
    );
    assert_eq!(g.on_missing, OnMissingScan::Start);
    assert_eq!(g.mutable_tags, vec!["latest".to_string()]);
}

#[test]
fn gate_input_errors() {
    for (k, v, needle) in [
        ("severity-thresholds", "CRIT=0", "not a severity"),
        ("scan-on-missing", "ignore", "not one of start, fail"),
        ("scan-wait-minutes", "soon", "not a whole number"),
        ("scan-gate", "maybe", "not a boolean"),
    ] {
        let mut i = base();
        i.push((k, v));
        let e = Config::from_inputs(&inputs(&i)).unwrap_err().to_string();
        assert!(
            e.contains(needle) && e.starts_with(&format!("input `{k}`")),
            "{k}: {e}"
        );
    }
    let mut i = base();
    i.push(("scan-ignore-file", "does-not-exist.yml"));
    let e = Config::from_inputs(&inputs(&i)).unwrap_err().to_string();
    assert!(
        e.starts_with("does-not-exist.yml: cannot read the scan ignore file"),
        "{e}"
    );
}

#[test]
fn max_retries_is_the_attempts_per_call_as_the_aws_action_counts_them() {
    let c = Config::from_inputs(&inputs(&base())).unwrap();
    assert_eq!(c.aws.max_attempts, 3);
    let mut i = base();
    i.push(("max-retries", "7"));
    assert_eq!(
        Config::from_inputs(&inputs(&i)).unwrap().aws.max_attempts,
        7
    );
    for bad in ["0", "11", "many"] {
        let mut i = base();
        i.push(("max-retries", bad));
        let e = Config::from_inputs(&inputs(&i)).unwrap_err().to_string();
        assert!(e.starts_with("input `max-retries`: "), "{e}");
        assert!(e.contains("from 1 to 10"), "{e}");
    }
    // A `config` entry cannot set it: the run has one set of AWS clients.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("services.yml");
    std::fs::write(
        &path,
        "services:\n  - service: web\n    task-definition: web.json\n    max-retries: 5\n",
    )
    .unwrap();
    let e = Config::from_inputs(&inputs(&[("config", path.to_str().unwrap())]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("services[0].max-retries"), "{e}");
}

#[test]
fn wait_max_delay_seconds_is_a_cap_in_seconds() {
    assert_eq!(deploy_of(&base()).poll_max, None);
    let mut i = base();
    i.push(("wait-max-delay-seconds", "15"));
    assert_eq!(
        deploy_of(&i).poll_max,
        Some(std::time::Duration::from_secs(15))
    );
    for bad in ["0", "601", "soon"] {
        let mut i = base();
        i.push(("wait-max-delay-seconds", bad));
        let e = Config::from_inputs(&inputs(&i)).unwrap_err().to_string();
        assert!(e.starts_with("input `wait-max-delay-seconds`: "), "{e}");
    }
}

#[test]
fn tag_needs_only_a_repository() {
    let c = Config::from_inputs(&inputs(&[("command", "tag"), ("image", "web")])).unwrap();
    assert_eq!(
        c.job,
        Job::Tag(TagConfig {
            image: "web".into(),
            template: "{date}-{sha7}".into()
        })
    );
    let e = Config::from_inputs(&inputs(&[("command", "tag"), ("image", "web:1")])).unwrap_err();
    assert!(e.to_string().contains("already has a tag"), "{e}");
    let e = Config::from_inputs(&inputs(&[("command", "tag")])).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("input `image`: is required for `tag`"),
        "{e}"
    );
}

#[test]
fn the_aws_actions_mixed_case_input_reaches_the_one_off_task() {
    // A workflow written for the AWS action spells it `run-task-assign-public-IP`; the runner
    // upper-cases it into the variable name, and greenlight reads names without regard to case.
    let raw = crate::gha::inputs_from_env(
        [
            ("INPUT_TASK-DEFINITION", "taskdef.json"),
            ("INPUT_RUN-TASK", "true"),
            ("INPUT_RUN-TASK-SUBNETS", "subnet-1"),
            ("INPUT_RUN-TASK-ASSIGN-PUBLIC-IP", "ENABLED"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let cfg = Config::from_inputs(&raw).unwrap();
    let Job::Task { d, plan: false } = &cfg.job else {
        panic!("no service: register (and run) only, got {:?}", cfg.job)
    };
    let rt = d.run_task.as_ref().unwrap();
    assert_eq!(rt.assign_public_ip.as_deref(), Some("ENABLED"));
    assert_eq!(rt.subnets, ["subnet-1"]);
}

#[test]
fn a_config_file_takes_no_one_off_task() {
    let e = fleet_from(
        "services:\n  - service: web\n    task-definition: web.json\n    run-task: true\n",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("one-off tasks are not run"), "{e}");
    let e = Config::from_inputs(&inputs(&[
        ("command", "run"),
        ("task-definition", "td.json"),
        ("config", "services.yml"),
    ]))
    .unwrap_err()
    .to_string();
    assert!(e.contains("`run` runs one task definition"), "{e}");
}
