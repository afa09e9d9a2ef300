//! Workflow commands written to stdout (`::add-mask::`, `::error …::`) and their escaping.
//!
//! The escaping follows the runner's own toolkit (`@actions/core` `command.ts`): data escapes
//! `%`, `\r`, `\n`; property values additionally escape `:` and `,` because those delimit
//! properties. `%` must go first, or the escapes themselves would be escaped again.

/// Escapes a command's message part.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value (`file=`, `title=` …).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Notice,
}

impl Level {
    fn command(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        }
    }
}

/// Where an annotation points. All parts are optional, as in the runner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    pub file: Option<String>,
    pub line: Option<usize>,
    pub col: Option<usize>,
    pub title: Option<String>,
}

/// Formats `::error file=…,line=…::message`.
pub fn annotation(level: Level, loc: &Location, message: &str) -> String {
    let mut props = Vec::new();
    if let Some(title) = &loc.title {
        props.push(format!("title={}", escape_property(title)));
    }
    if let Some(file) = &loc.file {
        props.push(format!("file={}", escape_property(file)));
    }
    if let Some(line) = loc.line {
        props.push(format!("line={line}"));
    }
    if let Some(col) = loc.col {
        props.push(format!("col={col}"));
    }
    let props = if props.is_empty() {
        String::new()
    } else {
        format!(" {}", props.join(","))
    };
    format!("::{}{}::{}", level.command(), props, escape_data(message))
}

/// Formats `::add-mask::value`; every line of a multi-line secret is masked on its own,
/// because the runner matches masks line by line.
pub fn add_mask(secret: &str) -> Vec<String> {
    secret
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("::add-mask::{}", escape_data(l)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_escapes_percent_first() {
        assert_eq!(escape_data("100%"), "100%25");
        // A literal "%0A" in the message must survive as text, not turn into a newline.
        assert_eq!(escape_data("%0A"), "%250A");
    }

    #[test]
    fn data_escapes_cr_and_lf() {
        assert_eq!(escape_data("a\r\nb"), "a%0D%0Ab");
        assert_eq!(escape_data("line1\nline2"), "line1%0Aline2");
    }

    #[test]
    fn data_keeps_colon_and_comma() {
        assert_eq!(escape_data("a:b,c"), "a:b,c");
    }

    #[test]
    fn property_escapes_colon_and_comma() {
        assert_eq!(escape_property("C:\\x,y"), "C%3A\\x%2Cy");
        assert_eq!(escape_property("50%:\n"), "50%25%3A%0A");
    }

    #[test]
    fn annotation_with_file_and_line() {
        let loc = Location {
            file: Some("deploy/task,def.json".into()),
            line: Some(7),
            ..Default::default()
        };
        assert_eq!(
            annotation(Level::Error, &loc, "unknown key: `imagee`\nfix it"),
            "::error file=deploy/task%2Cdef.json,line=7::unknown key: `imagee`%0Afix it"
        );
    }

    #[test]
    fn annotation_without_properties() {
        assert_eq!(
            annotation(Level::Warning, &Location::default(), "careful: 100%"),
            "::warning::careful: 100%25"
        );
    }

    #[test]
    fn annotation_with_title_and_col() {
        let loc = Location {
            file: Some("a.yml".into()),
            line: Some(1),
            col: Some(3),
            title: Some("greenlight: bad".into()),
        };
        assert_eq!(
            annotation(Level::Notice, &loc, "x"),
            "::notice title=greenlight%3A bad,file=a.yml,line=1,col=3::x"
        );
    }

    #[test]
    fn mask_each_line() {
        assert_eq!(
            add_mask("ghp_abc\nsecond%line\n"),
            vec!["::add-mask::ghp_abc", "::add-mask::second%25line"]
        );
        assert!(add_mask("").is_empty());
    }
}
