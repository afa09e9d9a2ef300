//! Every kind of invalid input is refused with exit 2 before any AWS write, StartImageScan
//! included: the real binary against the emulator, whose call log is asked what was written.
//! Each message names the file or input, the field and the fix, and never repeats a value that
//! could be a secret.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Seeded, Streaming, fixture, seeded};

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `deploy` of the seeded service with the given task definition and AppSpec.
fn deploy(s: &Seeded, td: &Path, appspec: &Path, extra: &[&str]) -> Command {
    let mut cmd = s.emu.greenlight(&s.out_file());
    cmd.args(["deploy", "--cluster", "demo", "--service", "web"])
        .arg("--task-definition")
        .arg(td)
        .arg("--codedeploy-appspec")
        .arg(appspec)
        .args(extra);
    cmd
}

/// The fixture task definition and AppSpec, the seeded image in container `web`.
fn standard(s: &Seeded, extra: &[&str]) -> Command {
    let mut args = vec!["--container-name", "web", "--image", &s.image];
    args.extend_from_slice(extra);
    deploy(s, &fixture("taskdef.json"), &fixture("appspec.yml"), &args)
}

/// Runs `cmd` and asserts exit 2, every needle in the output and no AWS write at all.
fn refused(s: &Seeded, cmd: &mut Command, needles: &[&str]) -> String {
    let out = cmd.output().expect("run greenlight");
    let log = text(&out);
    assert_eq!(out.status.code(), Some(2), "{log}");
    for needle in needles {
        assert!(log.contains(needle), "`{needle}` is missing from:\n{log}");
    }
    assert_eq!(s.emu.write_calls(), Vec::<String>::new(), "{log}");
    log
}

fn write(s: &Seeded, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = s.dir.path().join(name);
    std::fs::write(&path, bytes).expect("write a test file");
    path
}

fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).expect("read a fixture")
}

/// The fixture task definition with its container's JSON edited by `edit`.
fn taskdef_with(edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut doc: serde_json::Value =
        serde_json::from_str(&fixture_text("taskdef.json")).expect("fixture is JSON");
    edit(&mut doc);
    serde_json::to_string_pretty(&doc).expect("serialise")
}

const WEB: &str = "--container-name";

#[test]
fn files_are_bounded_checked_for_encoding_nesting_and_duplicate_keys() {
    let s = seeded(&[]);
    let appspec = fixture("appspec.yml");

    // A 50 MB file is refused after reading just past the limit, not read whole.
    let huge = write(&s, "huge.json", vec![b' '; 50 * 1024 * 1024]);
    let start = Instant::now();
    refused(
        &s,
        &mut deploy(&s, &huge, &appspec, &[WEB, "web", "--image", &s.image]),
        &["huge.json: is larger than 1 MiB", "task definition"],
    );
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );

    let big_yaml = write(
        &s,
        "big.yml",
        format!("version: 0.0\n{}", "#\n".repeat(140_000)),
    );
    refused(
        &s,
        &mut deploy(
            &s,
            &fixture("taskdef.json"),
            &big_yaml,
            &[WEB, "web", "--image", &s.image],
        ),
        &["big.yml: is larger than 256 KiB", "AppSpec"],
    );

    // 200 KB of flow nesting took a YAML parser over a minute; it is refused before parsing.
    let deep = write(
        &s,
        "deep.yml",
        format!("version: {}0{}\n", "[".repeat(100_000), "]".repeat(100_000)),
    );
    let start = Instant::now();
    refused(
        &s,
        &mut deploy(
            &s,
            &fixture("taskdef.json"),
            &deep,
            &[WEB, "web", "--image", &s.image],
        ),
        &["deep.yml", "more than 64 deep", "Fix: flatten"],
    );
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    let deep_json = write(
        &s,
        "deep.json",
        format!(
            "{{\"family\": \"web\", \"x\": {}1{}}}",
            "[".repeat(70),
            "]".repeat(70)
        ),
    );
    refused(
        &s,
        &mut deploy(&s, &deep_json, &appspec, &[WEB, "web", "--image", &s.image]),
        &["deep.json", "more than 64 deep"],
    );

    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            fixture_text("taskdef.json")
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    let utf16 = write(&s, "utf16.json", utf16);
    refused(
        &s,
        &mut deploy(&s, &utf16, &appspec, &[WEB, "web", "--image", &s.image]),
        &[
            "utf16.json: is UTF-16; save it as UTF-8",
            "Fix: re-save it as UTF-8",
        ],
    );

    // Duplicate keys, at any depth and in every kind of file.
    let dup = fixture_text("taskdef.json").replacen(
        "\"essential\": true,",
        "\"essential\": true, \"image\": \"other:1\",",
        1,
    );
    let dup = write(&s, "dup.json", dup);
    refused(
        &s,
        &mut deploy(&s, &dup, &appspec, &[WEB, "web", "--image", &s.image]),
        &[
            "dup.json",
            "key `image` appears twice in `containerDefinitions[0]`",
        ],
    );
    let dup_appspec = write(
        &s,
        "dup-appspec.yml",
        fixture_text("appspec.yml").replace(
            "ContainerPort: 80",
            "ContainerPort: 80\n          ContainerPort: 8080",
        ),
    );
    refused(
        &s,
        &mut deploy(
            &s,
            &fixture("taskdef.json"),
            &dup_appspec,
            &[WEB, "web", "--image", &s.image],
        ),
        &[
            "dup-appspec.yml",
            "key `ContainerPort` appears twice in `Resources[0].TargetService.Properties.LoadBalancerInfo`",
        ],
    );
    let defs = write(
        &s,
        "imagedefinitions.json",
        format!(
            r#"[{{"name": "web", "imageUri": "{}", "name": "web"}}]"#,
            s.image
        ),
    );
    refused(
        &s,
        &mut deploy(
            &s,
            &fixture("taskdef.json"),
            &appspec,
            &["--image-definitions", defs.to_str().unwrap()],
        ),
        &["imagedefinitions.json", "key `name` appears twice in `[0]`"],
    );
    let config = write(
        &s,
        "services.yml",
        "services:\n  - service: web\n    service: api\n    task-definition: t.json\n",
    );
    let mut cmd = s.emu.greenlight(&s.out_file());
    cmd.args(["deploy", "--cluster", "demo", "--config"])
        .arg(&config);
    refused(
        &s,
        &mut cmd,
        &[
            "services.yml",
            "key `service` appears twice in `services[0]`",
        ],
    );
    let ignore = write(
        &s,
        "ignore.yml",
        "- id: CVE-2026-1\n  id: CVE-2026-2\n  until: 2026-12-31\n  reason: not reachable\n",
    );
    refused(
        &s,
        &mut standard(&s, &["--scan-ignore-file", ignore.to_str().unwrap()]),
        &["ignore.yml", "key `id` appears twice in `[0]`"],
    );
    let big_ignore = write(&s, "big-ignore.yml", "#\n".repeat(140_000));
    refused(
        &s,
        &mut standard(&s, &["--scan-ignore-file", big_ignore.to_str().unwrap()]),
        &["big-ignore.yml: is larger than 256 KiB"],
    );
}

#[test]
fn a_utf8_bom_is_accepted() {
    let s = seeded(&[]);
    let td = write(
        &s,
        "bom.json",
        format!("\u{feff}{}", fixture_text("taskdef.json")),
    );
    let appspec = write(
        &s,
        "bom.yml",
        format!("\u{feff}{}", fixture_text("appspec.yml")),
    );
    let mut plan = s.emu.greenlight(&s.out_file());
    plan.args(["plan", "--cluster", "demo", "--service", "web"])
        .arg("--task-definition")
        .arg(&td)
        .arg("--codedeploy-appspec")
        .arg(&appspec)
        .args([WEB, "web", "--image", &s.image]);
    let out = plan.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(s.emu.write_calls(), Vec::<String>::new());
}

#[test]
fn a_rendered_task_definition_over_64_kib_is_refused() {
    let s = seeded(&[]);
    // Each variable alone is small; together they pass AWS's limit only once rendered.
    let env: String = (0..800)
        .map(|i| format!("VAR_{i:04}={}\n", "v".repeat(80)))
        .collect();
    refused(
        &s,
        &mut standard(&s, &["--environment-variables", &env]),
        &[
            "taskdef.json: renders to",
            "larger than 64 KiB (65536 bytes)",
            "Fix:",
        ],
    );
}

#[test]
fn cpu_and_memory_outside_what_any_instance_has_are_refused() {
    let s = seeded(&[]);
    let appspec = fixture("appspec.yml");
    let td = write(
        &s,
        "sizes.json",
        taskdef_with(|d| {
            let c = &mut d["containerDefinitions"][0];
            c["cpu"] = (-1).into();
            c["memory"] = 4.into();
            c["memoryReservation"] = 0.into();
        }),
    );
    refused(
        &s,
        &mut deploy(&s, &td, &appspec, &[WEB, "web", "--image", &s.image]),
        &[
            "sizes.json has 3 problems",
            "`containerDefinitions[0].cpu`: -1 is not a number of CPU units",
            "`containerDefinitions[0].memory`: 4 MiB is not a container memory ECS accepts: use 6 MiB",
            "`containerDefinitions[0].memoryReservation`: 0 MiB",
        ],
    );
    let td = write(
        &s,
        "fargate.json",
        taskdef_with(|d| {
            d["cpu"] = "256".into();
            d["memory"] = "4096".into();
        }),
    );
    refused(
        &s,
        &mut deploy(&s, &td, &appspec, &[WEB, "web", "--image", &s.image]),
        &[
            "fargate.json",
            "`cpu`: FARGATE does not offer cpu 256 with memory 4096 MiB",
        ],
    );
    let td = write(
        &s,
        "ec2.json",
        taskdef_with(|d| {
            d["requiresCompatibilities"] = serde_json::json!(["EC2"]);
            d["cpu"] = "0".into();
            d["memory"] = "-512".into();
            d["containerDefinitions"][0]["memory"] = 512.into();
            d["containerDefinitions"][0]["memoryReservation"] = 1024.into();
        }),
    );
    refused(
        &s,
        &mut deploy(&s, &td, &appspec, &[WEB, "web", "--image", &s.image]),
        &[
            "ec2.json has 3 problems",
            "`cpu`: `0` is not a task size ECS accepts: use CPU units from 128 to 196608",
            "`memory`: `-512` is not a task memory",
            "1024 MiB is above the container's hard limit `memory` 512 MiB",
        ],
    );
    let td = write(
        &s,
        "overbooked.json",
        taskdef_with(|d| {
            d["containerDefinitions"][0]["cpu"] = 512.into();
            d["containerDefinitions"][0]["memoryReservation"] = 1024.into();
        }),
    );
    refused(
        &s,
        &mut deploy(&s, &td, &appspec, &[WEB, "web", "--image", &s.image]),
        &[
            "overbooked.json has 2 problems",
            "the containers reserve 512 CPU units together, more than the task's 256",
            "the containers reserve 1024 MiB together",
        ],
    );
}

#[test]
fn an_appspec_deploys_one_ecs_service_with_ecs_hooks_only() {
    let s = seeded(&[]);
    let two = write(
        &s,
        "two.yml",
        format!(
            "{}  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: x\n",
            fixture_text("appspec.yml")
        ),
    );
    refused(
        &s,
        &mut deploy(
            &s,
            &fixture("taskdef.json"),
            &two,
            &[WEB, "web", "--image", &s.image],
        ),
        &[
            "two.yml",
            "`Resources`: lists 2 resources; an ECS AppSpec has exactly one",
        ],
    );
    let lambda = write(
        &s,
        "lambda.yml",
        fixture_text("appspec.yml").replace("AWS::ECS::Service", "AWS::Lambda::Function"),
    );
    refused(
        &s,
        &mut deploy(
            &s,
            &fixture("taskdef.json"),
            &lambda,
            &[WEB, "web", "--image", &s.image],
        ),
        &["lambda.yml", "must be `AWS::ECS::Service`"],
    );
    let hooks = write(
        &s,
        "hooks.yml",
        format!(
            "{}Hooks:\n  - BeforeAllowTraffic: arn:aws:lambda:us-east-1:123456789012:function:check\n  - ApplicationStart: arn:aws:lambda:us-east-1:123456789012:function:start\n  - AfterAllowTestTrafic: arn:aws:lambda:us-east-1:123456789012:function:t\n",
            fixture_text("appspec.yml")
        ),
    );
    refused(
        &s,
        &mut deploy(
            &s,
            &fixture("taskdef.json"),
            &hooks,
            &[WEB, "web", "--image", &s.image],
        ),
        &[
            "hooks.yml has 2 problems",
            "`Hooks[1].ApplicationStart`: is not a lifecycle event of an ECS deployment",
            "`Hooks[2].AfterAllowTestTrafic`: is not a lifecycle event of an ECS deployment; did you mean `AfterAllowTestTraffic`?",
        ],
    );
}

#[test]
fn a_container_named_twice_is_refused() {
    let s = seeded(&[]);
    refused(
        &s,
        &mut deploy(
            &s,
            &fixture("taskdef.json"),
            &fixture("appspec.yml"),
            &[
                WEB,
                "web,web",
                "--image",
                &format!("{},{}", s.image, s.image),
            ],
        ),
        &[
            "input `container-name`: names container `web` twice",
            "Fix:",
        ],
    );
    let defs = write(
        &s,
        "imagedefinitions.json",
        format!(
            r#"[{{"name": "web", "imageUri": "{0}"}}, {{"name": "web", "imageUri": "{0}"}}]"#,
            s.image
        ),
    );
    refused(
        &s,
        &mut deploy(
            &s,
            &fixture("taskdef.json"),
            &fixture("appspec.yml"),
            &["--image-definitions", defs.to_str().unwrap()],
        ),
        &[
            "imagedefinitions.json: `[1].name`: container `web` appears twice",
            "Fix: keep one entry per container",
        ],
    );
    let td = write(
        &s,
        "twice.json",
        taskdef_with(|d| {
            let c = d["containerDefinitions"][0].clone();
            d["containerDefinitions"].as_array_mut().unwrap().push(c);
        }),
    );
    refused(
        &s,
        &mut deploy(
            &s,
            &td,
            &fixture("appspec.yml"),
            &[WEB, "web", "--image", &s.image],
        ),
        &[
            "twice.json",
            "`web` is used by two containers; names must be unique",
        ],
    );
}

#[test]
fn a_config_file_listing_a_service_twice_is_refused_however_the_cluster_is_written() {
    let s = seeded(&[]);
    let td = fixture("taskdef.json");
    let entry = |cluster: &str| {
        format!(
            "  - service: web\n    cluster: {cluster}\n    task-definition: {}\n    container-name: web\n    image: {}\n",
            td.display(),
            s.image
        )
    };
    let config = write(
        &s,
        "services.yml",
        format!(
            "services:\n{}{}",
            entry("demo"),
            entry("arn:aws:ecs:us-east-1:123456789012:cluster/demo")
        ),
    );
    let mut cmd = s.emu.greenlight(&s.out_file());
    cmd.args(["deploy", "--config"]).arg(&config);
    refused(
        &s,
        &mut cmd,
        &[
            "services.yml: `services[1]`: lists demo/web a second time",
            "Fix: deploy each service once per run",
        ],
    );
}

#[test]
fn a_secret_that_names_no_parameter_or_arn_is_refused_without_repeating_it() {
    let s = seeded(&[]);
    let log = refused(
        &s,
        &mut standard(&s, &["--secrets", "DB_PASSWORD=correct horse battery"]),
        &[
            "input `secrets`: the `valueFrom` of `DB_PASSWORD` is neither an ARN nor an SSM parameter name: it contains whitespace",
            "Fix:",
        ],
    );
    assert!(!log.contains("horse"), "{log}");
    let td = write(
        &s,
        "secrets.json",
        taskdef_with(|d| {
            d["containerDefinitions"][0]["secrets"] = serde_json::json!([
                {"name": "A", "valueFrom": "web/db"},
                {"name": "B", "valueFrom": "/web//db"},
                {"name": "C", "valueFrom": "s3cr3t!value"},
                {"name": "D", "valueFrom": "arn:aws:s3:::bucket/key"},
                {"name": "OK", "valueFrom": "/web/db-password"}
            ]);
        }),
    );
    let log = refused(
        &s,
        &mut deploy(
            &s,
            &td,
            &fixture("appspec.yml"),
            &[WEB, "web", "--image", &s.image],
        ),
        &[
            "secrets.json has 4 problems",
            "`containerDefinitions[0].secrets[0].valueFrom`: is a parameter path without its leading `/`",
            "`containerDefinitions[0].secrets[1].valueFrom`: has an empty level",
            "`containerDefinitions[0].secrets[2].valueFrom`: is neither an ARN nor an SSM parameter name: it contains the character `!`",
            "`containerDefinitions[0].secrets[3].valueFrom`: is an ARN but not of an SSM parameter",
        ],
    );
    assert!(!log.contains("s3cr3t"), "{log}");
}

#[test]
fn on_a_runner_files_outside_the_workspace_are_refused() {
    let s = seeded(&[]);
    let ws = s.dir.path().join("workspace");
    std::fs::create_dir_all(ws.join("deploy")).unwrap();
    std::fs::copy(fixture("taskdef.json"), ws.join("deploy/taskdef.json")).unwrap();
    std::fs::copy(fixture("appspec.yml"), ws.join("deploy/appspec.yml")).unwrap();
    let runner = |args: &[&str]| {
        let mut cmd = s.emu.greenlight(&s.out_file());
        cmd.current_dir(&ws)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_WORKSPACE", &ws)
            .args(["plan", "--cluster", "demo", "--service", "web"])
            .args([WEB, "web", "--image", &s.image])
            .args(args);
        cmd
    };
    let outside = fixture("taskdef.json");
    let outside = outside.to_str().unwrap();
    for (args, input) in [
        (
            vec![
                "--task-definition",
                outside,
                "--codedeploy-appspec",
                "deploy/appspec.yml",
            ],
            "task-definition",
        ),
        (
            vec![
                "--task-definition",
                "deploy/../../workspace/../taskdef.json",
                "--codedeploy-appspec",
                "deploy/appspec.yml",
            ],
            "task-definition",
        ),
        (
            vec![
                "--task-definition",
                "deploy/taskdef.json",
                "--codedeploy-appspec",
                "../appspec.yml",
            ],
            "codedeploy-appspec",
        ),
        (
            vec![
                "--task-definition",
                "deploy/taskdef.json",
                "--sarif-file",
                "/tmp/findings.sarif",
            ],
            "sarif-file",
        ),
        (
            vec![
                "--task-definition",
                "deploy/taskdef.json",
                "--scan-ignore-file",
                "/etc/hostname",
            ],
            "scan-ignore-file",
        ),
    ] {
        refused(
            &s,
            &mut runner(&args),
            &[
                &format!("input `{input}`"),
                "is outside the workspace",
                "Fix: give a path inside the workspace",
            ],
        );
    }
    // A config file's entries are held to the same rule.
    let config = ws.join("services.yml");
    std::fs::write(
        &config,
        format!(
            "services:\n  - service: web\n    task-definition: {outside}\n    container-name: web\n    image: {}\n",
            s.image
        ),
    )
    .unwrap();
    let mut cmd = s.emu.greenlight(&s.out_file());
    cmd.current_dir(&ws)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", &ws)
        .args(["plan", "--cluster", "demo", "--config", "services.yml"]);
    refused(
        &s,
        &mut cmd,
        &[
            "services.yml: `services[0].task-definition`",
            "is outside the workspace",
        ],
    );

    // Inside the workspace it plans; the CLI (no runner) reads any path.
    let out = runner(&[
        "--task-definition",
        "deploy/taskdef.json",
        "--codedeploy-appspec",
        "./deploy/appspec.yml",
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let mut cli = s.emu.greenlight(&s.out_file());
    cli.current_dir(&ws)
        .args(["plan", "--cluster", "demo", "--service", "web"])
        .args([
            WEB,
            "web",
            "--image",
            &s.image,
            "--task-definition",
            outside,
        ]);
    let out = cli.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(s.emu.write_calls(), Vec::<String>::new());
}

#[test]
fn no_scan_starts_in_a_fleet_until_every_service_passed_its_checks() {
    let s = seeded(&["--scan", "none"]);
    let td = fixture("taskdef.json");
    // `web` would need a scan started; `api` does not exist, so nothing may be written.
    let config = write(
        &s,
        "services.yml",
        format!(
            "services:\n  - service: web\n    task-definition: {td}\n    container-name: web\n    image: {image}\n  - service: api\n    task-definition: {td}\n    container-name: web\n    image: {image}\n",
            td = td.display(),
            image = s.image
        ),
    );
    let mut cmd = s.emu.greenlight(&s.out_file());
    cmd.args(["deploy", "--cluster", "demo", "--config"])
        .arg(&config);
    let log = refused(&s, &mut cmd, &["demo/api", "nothing was deployed"]);
    assert!(
        !s.emu.calls().iter().any(|c| c == "ecr:StartImageScan"),
        "{log}"
    );
    // Proof that the call log would show it: the same service alone starts its scan.
    let out = standard(&s, &["--wait-until", "none"]).output().unwrap();
    assert!(
        s.emu.calls().iter().any(|c| c == "ecr:StartImageScan"),
        "{}",
        text(&out)
    );
}

#[test]
fn attach_to_a_deployment_of_other_images_is_refused_before_a_scan_starts() {
    // CodeDeploy's longest ready wait: the deployment stays READY however loaded the machine.
    let s = seeded(&[
        "--scan",
        "none",
        "--deployment-ready-option",
        "STOP_DEPLOYMENT",
        "--ready-wait-minutes",
        "2880",
    ]);
    let out = standard(&s, &["--wait-until", "ready"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(s.emu.calls().iter().any(|c| c == "ecr:StartImageScan"));
    s.emu.clear_calls();
    // An older image of the same repository, never scanned: attach must refuse first.
    let older = s.seed["olderImageTags"][0].as_str().unwrap();
    let (repo, _) = s.image.rsplit_once(':').unwrap();
    let other = format!("{repo}:{older}");
    let mut cmd = deploy(
        &s,
        &fixture("taskdef.json"),
        &fixture("appspec.yml"),
        &[WEB, "web", "--image", &other, "--on-conflict", "attach"],
    );
    refused(
        &s,
        &mut cmd,
        &["with other images than this one", "Fix: wait for it to end"],
    );
}

#[test]
fn on_conflict_wait_starts_no_scan_before_the_deployment_in_flight_has_ended() {
    // CodeDeploy's longest ready wait: the deployment stays READY however loaded the machine.
    let s = seeded(&[
        "--scan",
        "none",
        "--deployment-ready-option",
        "STOP_DEPLOYMENT",
        "--ready-wait-minutes",
        "2880",
    ]);
    let out = standard(&s, &["--wait-until", "ready"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    s.emu.clear_calls();
    // The deployment in flight waits at READY for good; this run is cancelled while it waits.
    let older = s.seed["olderImageTags"][0].as_str().unwrap();
    let (repo, _) = s.image.rsplit_once(':').unwrap();
    let other = format!("{repo}:{older}");
    let mut cmd = deploy(
        &s,
        &fixture("taskdef.json"),
        &fixture("appspec.yml"),
        &[WEB, "web", "--image", &other, "--on-conflict", "wait"],
    );
    let run = Streaming::until(&mut cmd, "waiting for deployment");
    run.terminate();
    let (code, log) = run.finish();
    assert_eq!(code, Some(1), "{log}");
    assert_eq!(
        common::deployment_status(&s.out_file()).as_deref(),
        Some("Cancelled")
    );
    assert_eq!(s.emu.write_calls(), Vec::<String>::new(), "{log}");

    // The same in a `config` run: its waits come before any of its scans.
    let config = write(
        &s,
        "services.yml",
        format!(
            "services:\n  - service: web\n    task-definition: {}\n    codedeploy-appspec: {}\n    container-name: web\n    image: {other}\n    on-conflict: wait\n",
            fixture("taskdef.json").display(),
            fixture("appspec.yml").display()
        ),
    );
    let mut cmd = s.emu.greenlight(&s.dir.path().join("fleet-outputs"));
    cmd.args(["deploy", "--cluster", "demo", "--config"])
        .arg(&config);
    let run = Streaming::until(&mut cmd, "waiting for deployment");
    run.terminate();
    let (code, log) = run.finish();
    assert_eq!(code, Some(1), "{log}");
    assert_eq!(s.emu.write_calls(), Vec::<String>::new(), "{log}");
}

#[test]
fn a_bad_image_input_names_the_input_and_the_reason() {
    let s = seeded(&[]);
    let (repo, tag) = s.image.rsplit_once(':').unwrap();
    let upper = format!("{}:{tag}", repo.replace("/web", "/Web"));
    let log = refused(
        &s,
        &mut deploy(
            &s,
            &fixture("taskdef.json"),
            &fixture("appspec.yml"),
            &[WEB, "web", "--image", &upper],
        ),
        &[
            "input `image`",
            "the repository `Web` has upper-case letters",
            "Fix:",
        ],
    );
    assert!(!log.contains("taskdef.json"), "{log}");
    let short = format!("{repo}@sha256:{}", "a".repeat(63));
    refused(
        &s,
        &mut deploy(
            &s,
            &fixture("taskdef.json"),
            &fixture("appspec.yml"),
            &[WEB, "web", "--image", &short],
        ),
        &[
            "input `image`",
            "the digest has 63 characters after `sha256:`",
        ],
    );
    let defs = write(
        &s,
        "imagedefinitions.json",
        format!(r#"[{{"name": "web", "imageUri": "{upper}"}}]"#),
    );
    refused(
        &s,
        &mut deploy(
            &s,
            &fixture("taskdef.json"),
            &fixture("appspec.yml"),
            &["--image-definitions", defs.to_str().unwrap()],
        ),
        &[
            "imagedefinitions.json: `[0].imageUri`",
            "the repository `Web` has upper-case letters",
        ],
    );
    let elsewhere = s.image.replace(".us-east-1.", ".eu-west-1.");
    refused(
        &s,
        &mut deploy(
            &s,
            &fixture("taskdef.json"),
            &fixture("appspec.yml"),
            &[WEB, "web", "--image", &elsewhere],
        ),
        &[
            "input `image`",
            "eu-west-1",
            "this run deploys in us-east-1",
        ],
    );
}

#[test]
fn bad_render_extras_are_refused_naming_the_input() {
    let s = seeded(&[]);
    for (flag, value, needles) in [
        (
            "--task-role-arn",
            "web-task",
            &[
                "input `task-role-arn`: `web-task` is not an IAM role ARN",
                "arn:aws:iam::123456789012:role/",
            ][..],
        ),
        (
            "--execution-role-arn",
            "arn:aws:iam::1234:role/exec",
            &["input `execution-role-arn`", "12-digit account"][..],
        ),
        (
            "--env-files",
            "arn:aws:s3:::config/web.env\ns3://config/prod.env",
            &["input `env-files`: line 2", "not an S3 object ARN"][..],
        ),
        (
            "--env-files",
            "arn:aws:s3:::config/web.json",
            &["input `env-files`: line 1", "does not end in `.env`"][..],
        ),
        (
            "--container-command",
            r#"["sh", "-c", ]"#,
            &[
                "input `container-command`: is not a JSON array of strings",
                "line 1 column",
            ][..],
        ),
        (
            "--keep-task-definition-revisions",
            "0",
            &["input `keep-task-definition-revisions`: `0` is not a whole number from 1 to 1000"][..],
        ),
    ] {
        refused(&s, &mut standard(&s, &[flag, value]), needles);
    }
}

#[test]
fn a_bad_ebs_volume_is_refused_before_any_write() {
    let s = seeded(&["--controller", "ECS"]);
    let ecs = |extra: &[&str]| {
        let mut cmd = s.emu.greenlight(&s.out_file());
        cmd.args(["deploy", "--cluster", "demo", "--service", "web"])
            .arg("--task-definition")
            .arg(fixture("taskdef.json"))
            .args(["--container-name", "web", "--image", &s.image])
            .args(extra);
        cmd
    };
    for (volume, needle) in [
        (
            r#"{"roleArn": "arn:aws:iam::123456789012:role/infra", "sizeInGiB": }"#,
            "line 1 column",
        ),
        (r#"{"sizeInGiB": 20}"#, "has no `roleArn`"),
        (
            r#"{"roleArn": "arn:aws:iam::123456789012:role/infra", "sizeInGib": 20}"#,
            "unknown field `sizeInGib`",
        ),
    ] {
        refused(
            &s,
            &mut ecs(&[
                "--service-managed-ebs-volume-name",
                "data",
                "--service-managed-ebs-volume",
                volume,
            ]),
            &["input `service-managed-ebs-volume`", needle],
        );
    }
    // The name must be a volume of the task definition configured at launch: ECS would refuse
    // it only after a revision was registered.
    refused(
        &s,
        &mut ecs(&[
            "--service-managed-ebs-volume-name",
            "data",
            "--service-managed-ebs-volume",
            r#"{"roleArn": "arn:aws:iam::123456789012:role/infra"}"#,
        ]),
        &[
            "input `service-managed-ebs-volume-name`: `data` is not a volume of the task definition with `configuredAtLaunch: true`",
        ],
    );
}

#[test]
fn an_ebs_volume_for_a_codedeploy_service_is_refused_rather_than_ignored() {
    let s = seeded(&[]);
    let td = write(
        &s,
        "volume.json",
        taskdef_with(|d| {
            d["volumes"] = serde_json::json!([{"name": "data", "configuredAtLaunch": true}])
        }),
    );
    refused(
        &s,
        &mut deploy(
            &s,
            &td,
            &fixture("appspec.yml"),
            &[
                "--container-name",
                "web",
                "--image",
                &s.image,
                "--service-managed-ebs-volume-name",
                "data",
                "--service-managed-ebs-volume",
                r#"{"roleArn": "arn:aws:iam::123456789012:role/infra"}"#,
            ],
        ),
        &[
            "input `service-managed-ebs-volume`",
            "CODE_DEPLOY deployment controller, where UpdateService cannot change its volume configuration",
        ],
    );
}
