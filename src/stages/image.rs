//! Image references: parse any reference, render the unique tag from a template, and recognise
//! ECR registries. Pure code; the ECR lookups live with the scan gate.

use std::fmt;

use crate::aws::Clients;
use crate::error::{Error, Result};

/// A parsed image reference: `[registry[:port]/]path[:tag][@sha256:…]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub registry: Option<String>,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(r) = &self.registry {
            write!(f, "{r}/")?;
        }
        write!(f, "{}", self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Why a string is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{reference}` is not a valid image reference: {reason}")]
pub struct RefError {
    pub reference: String,
    pub reason: String,
}

impl ImageRef {
    pub fn parse(s: &str) -> std::result::Result<ImageRef, RefError> {
        let err = |reason: &str| RefError {
            reference: s.to_string(),
            reason: reason.to_string(),
        };
        if s.is_empty() {
            return Err(err("it is empty"));
        }
        if s.len() > 4096 || s.contains(char::is_whitespace) {
            return Err(err("it contains whitespace or is too long"));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                if !is_digest(d) {
                    let hex = d.strip_prefix("sha256:").unwrap_or(d);
                    if d.starts_with("sha256:") && hex.len() != 64 {
                        return Err(err(&format!(
                            "the digest has {} characters after `sha256:`; a sha256 digest has exactly 64 lowercase hex digits",
                            hex.len()
                        )));
                    }
                    return Err(err(
                        "the digest must be `sha256:` followed by 64 lowercase hex digits",
                    ));
                }
                (r, Some(d.to_string()))
            }
            None => (s, None),
        };
        // A tag is a `:` after the last `/`; a `:` before it is a registry port.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let tag = &rest[last_slash + i + 1..];
                if !is_tag(tag) {
                    return Err(err(
                        "a tag is 1-128 of A-Z a-z 0-9 _ . - and does not start with . or -",
                    ));
                }
                (&rest[..last_slash + i], Some(tag.to_string()))
            }
            None => (rest, None),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, path)) if first.contains(['.', ':']) || first == "localhost" => {
                (Some(first.to_string()), path)
            }
            _ => (None, name),
        };
        if repository.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(err(&format!(
                "the repository `{repository}` has upper-case letters; Docker and ECR repository names are lower-case"
            )));
        }
        if repository.is_empty() || !repository.split('/').all(is_path_component) {
            return Err(err(
                "repository path components are lowercase letters and digits separated by . _ __ or -",
            ));
        }
        Ok(ImageRef {
            registry,
            repository: repository.to_string(),
            tag,
            digest,
        })
    }

    /// The ECR account and region when the registry is an ECR registry.
    pub fn ecr(&self) -> Option<EcrRegistry> {
        EcrRegistry::parse(self.registry.as_deref()?)
    }

    /// The same image pinned to a digest (tag dropped: the digest is what runs).
    pub fn pinned(&self, digest: &str) -> ImageRef {
        ImageRef {
            tag: None,
            digest: Some(digest.to_string()),
            ..self.clone()
        }
    }
}

fn is_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Docker's tag grammar: `[\w][\w.-]{0,127}`.
pub fn is_tag(t: &str) -> bool {
    let mut bytes = t.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric() || b == b'_')
        && t.len() <= 128
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Docker's path component grammar: `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`.
fn is_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum_lower(b[0]) || !is_alnum_lower(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum_lower(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_alnum_lower(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum_lower(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `<account>.dkr.ecr.<region>.amazonaws.com` (and the China partition's `.com.cn`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrRegistry {
    pub account: String,
    pub region: String,
}

impl EcrRegistry {
    pub fn parse(host: &str) -> Option<EcrRegistry> {
        let rest = host
            .strip_suffix(".amazonaws.com")
            .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
        let (account, rest) = rest.split_once(".dkr.ecr.")?;
        let region = rest.strip_suffix(".fips").unwrap_or(rest);
        let ok = account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && !region.is_empty();
        ok.then(|| EcrRegistry {
            account: account.to_string(),
            region: region.to_string(),
        })
    }

    pub fn host(&self) -> String {
        let suffix = if self.region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        format!("{}.dkr.ecr.{}.{suffix}", self.account, self.region)
    }
}

/// Values for the tag template's placeholders, taken from the workflow run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagContext {
    pub sha: Option<String>,
    /// UTC `YYYYMMDDHHMMSS`.
    pub date: String,
    pub run_number: Option<String>,
    pub run_attempt: Option<String>,
    /// The branch or tag name (`GITHUB_HEAD_REF` on PRs, else `GITHUB_REF_NAME`).
    pub ref_name: Option<String>,
    pub pr: Option<u64>,
}

impl TagContext {
    /// From the runner's environment, with `now` for `{date}`.
    pub fn from_env(now: time::OffsetDateTime, pr: Option<u64>) -> TagContext {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        TagContext {
            sha: var("GITHUB_SHA"),
            date: format_date(now),
            run_number: var("GITHUB_RUN_NUMBER"),
            run_attempt: var("GITHUB_RUN_ATTEMPT"),
            ref_name: var("GITHUB_HEAD_REF").or_else(|| var("GITHUB_REF_NAME")),
            pr,
        }
    }
}

pub fn format_date(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A valid Docker tag from a branch name: invalid characters become `-`, no leading `.`/`-`,
/// at most 128 characters.
pub fn ref_slug(name: &str) -> String {
    let replaced: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut slug = replaced.trim_start_matches(['.', '-']).to_string();
    slug.truncate(128);
    while slug.ends_with(['.', '-']) {
        slug.pop();
    }
    if slug.is_empty() {
        "ref".to_string()
    } else {
        slug
    }
}

pub const PLACEHOLDERS: &[&str] = &[
    "sha",
    "sha7",
    "date",
    "run_number",
    "run_attempt",
    "ref_slug",
    "pr",
];

/// Renders `image-tag-template`; every placeholder must be known and have a value here.
pub fn render_tag(template: &str, ctx: &TagContext) -> Result<String> {
    let input = "image-tag-template";
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            return Err(Error::input(
                input,
                format!("`{template}` has a `{{` without `}}`"),
                "close the placeholder",
            ));
        };
        let name = &rest[open + 1..open + close];
        let missing = |what: &str| {
            Error::input(
                input,
                format!("`{{{name}}}` has no value here: {what}"),
                "use a placeholder this run provides, e.g. `{date}-{sha7}`",
            )
        };
        let value = match name {
            "sha" => ctx
                .sha
                .clone()
                .ok_or_else(|| missing("GITHUB_SHA is not set"))?,
            "sha7" => ctx
                .sha
                .as_ref()
                .map(|s| s.chars().take(7).collect())
                .ok_or_else(|| missing("GITHUB_SHA is not set"))?,
            "date" => ctx.date.clone(),
            "run_number" => ctx
                .run_number
                .clone()
                .ok_or_else(|| missing("GITHUB_RUN_NUMBER is not set"))?,
            "run_attempt" => ctx
                .run_attempt
                .clone()
                .ok_or_else(|| missing("GITHUB_RUN_ATTEMPT is not set"))?,
            "ref_slug" => ctx
                .ref_name
                .as_deref()
                .map(ref_slug)
                .ok_or_else(|| missing("GITHUB_REF_NAME is not set"))?,
            "pr" => ctx
                .pr
                .map(|n| n.to_string())
                .ok_or_else(|| missing("this run is not for a pull request"))?,
            other => {
                return Err(Error::input(
                    input,
                    format!("unknown placeholder `{{{other}}}`"),
                    format!(
                        "use {}",
                        PLACEHOLDERS
                            .iter()
                            .map(|p| format!("{{{p}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        };
        out.push_str(&value);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    if !is_tag(&out) {
        return Err(Error::input(
            input,
            format!("`{template}` renders `{out}`, which is not a valid Docker tag"),
            "a tag is 1-128 of A-Z a-z 0-9 _ . - and does not start with . or -",
        ));
    }
    if out == "latest" {
        return Err(Error::input(
            input,
            "the template renders `latest`",
            "make every build's tag unique, e.g. `{date}-{sha7}`",
        ));
    }
    Ok(out)
}

/// Where the tagged image goes: a full repository reference, or a repository name in this
/// account's ECR registry (account from STS, region from the configuration).
pub async fn repository_uri(image: &str, clients: Option<&Clients>) -> Result<String> {
    let parsed = ImageRef::parse(image).map_err(|e| {
        Error::input(
            "image",
            e.to_string(),
            "give an ECR repository name like `web` or a full repository URI",
        )
    })?;
    if parsed.registry.is_some() {
        return Ok(parsed.to_string());
    }
    let clients = clients.ok_or_else(|| Error::state("no AWS clients", ""))?;
    let account = clients.account_id().await?;
    let registry = EcrRegistry {
        account,
        region: clients.region.clone(),
    };
    Ok(format!("{}/{}", registry.host(), parsed.repository))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> ImageRef {
        ImageRef::parse(s).unwrap()
    }

    const D: &str = "sha256:3f1e5c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d9b2c";

    #[test]
    fn parses_every_form() {
        assert_eq!(
            r("web"),
            ImageRef {
                registry: None,
                repository: "web".into(),
                tag: None,
                digest: None
            }
        );
        assert_eq!(r("library/web:1.2").tag.as_deref(), Some("1.2"));
        let full = r(&format!(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web:20261123120000-abc1234@{D}"
        ));
        assert_eq!(
            full.registry.as_deref(),
            Some("123456789012.dkr.ecr.us-east-1.amazonaws.com")
        );
        assert_eq!(full.repository, "team/web");
        assert_eq!(full.tag.as_deref(), Some("20261123120000-abc1234"));
        assert_eq!(full.digest.as_deref(), Some(D));
        let port = r("localhost:5000/web");
        assert_eq!(
            (port.registry.as_deref(), port.tag),
            (Some("localhost:5000"), None)
        );
        let port_tag = r("registry.example.com:5000/a/b:v1");
        assert_eq!(
            port_tag.registry.as_deref(),
            Some("registry.example.com:5000")
        );
        assert_eq!(port_tag.tag.as_deref(), Some("v1"));
        assert_eq!(r(&format!("web@{D}")).digest.as_deref(), Some(D));
    }

    #[test]
    fn display_roundtrips() {
        for s in [
            "web",
            "a/b:c",
            "localhost:5000/x/y:z",
            &format!("r.io/web:t@{D}"),
        ] {
            assert_eq!(r(s).to_string(), s);
        }
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "Web:1",
            "web:",
            "web:-x",
            "web@sha256:abc",
            "web@md5:00",
            "a//b",
            "web:1 2",
            "-web",
            "web:.x",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad} accepted");
        }
        assert!(ImageRef::parse(&format!("web:{}", "a".repeat(129))).is_err());
        assert!(ImageRef::parse(&format!("web:{}", "a".repeat(128))).is_ok());
    }

    #[test]
    fn ecr_registry() {
        let e = r("123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/web:1")
            .ecr()
            .unwrap();
        assert_eq!(
            e,
            EcrRegistry {
                account: "123456789012".into(),
                region: "ap-northeast-2".into()
            }
        );
        assert_eq!(
            e.host(),
            "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com"
        );
        assert!(r("ghcr.io/o/web:1").ecr().is_none());
        assert!(EcrRegistry::parse("12345.dkr.ecr.us-east-1.amazonaws.com").is_none());
        assert_eq!(
            EcrRegistry::parse("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn")
                .map(|e| e.host()),
            Some("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn".into())
        );
    }

    #[test]
    fn date_is_utc_compact() {
        let t = time::macros::datetime!(2026-11-23 21:00:05 +09:00);
        assert_eq!(format_date(t), "20261123120005");
    }

    #[test]
    fn slugs_are_valid_tags() {
        assert_eq!(ref_slug("feature/Login-Page"), "feature-Login-Page");
        assert_eq!(ref_slug("..-weird//name--"), "weird--name");
        assert_eq!(ref_slug("한글"), "ref");
        let long = ref_slug(&"x".repeat(300));
        assert_eq!(long.len(), 128);
        for s in ["feature/a", "-x", ".y", "a b c", "ü"] {
            assert!(is_tag(&ref_slug(s)), "{s}");
        }
    }

    fn ctx() -> TagContext {
        TagContext {
            sha: Some("abc1234def5678".into()),
            date: "20261123120000".into(),
            run_number: Some("17".into()),
            run_attempt: Some("2".into()),
            ref_name: Some("feature/x".into()),
            pr: None,
        }
    }

    #[test]
    fn renders_templates() {
        assert_eq!(
            render_tag("{date}-{sha7}", &ctx()).unwrap(),
            "20261123120000-abc1234"
        );
        assert_eq!(
            render_tag("{ref_slug}.{run_number}.{run_attempt}", &ctx()).unwrap(),
            "feature-x.17.2"
        );
        assert_eq!(render_tag("v{sha}", &ctx()).unwrap(), "vabc1234def5678");
    }

    #[test]
    fn template_errors_are_named() {
        for (t, needle) in [
            ("{pr}", "not for a pull request"),
            ("{nope}", "unknown placeholder `{nope}`"),
            ("{date", "without `}`"),
            ("latest", "renders `latest`"),
            ("-{date}", "not a valid Docker tag"),
        ] {
            let e = render_tag(t, &ctx()).unwrap_err().to_string();
            assert!(e.contains(needle), "{t}: {e}");
            assert!(e.starts_with("input `image-tag-template`"), "{e}");
        }
    }
}
