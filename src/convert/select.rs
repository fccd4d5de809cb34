//! Which operations become actions: include/exclude by tag, method, path glob and
//! operationId glob.

use serde::{Deserialize, Serialize};

/// Include and exclude filters. An operation is selected when, for every kind of
/// include filter that is set, it matches at least one; and it matches no exclude.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Selection {
    /// Keep only operations with one of these tags.
    pub include_tags: Vec<String>,
    /// Leave out operations with any of these tags.
    pub exclude_tags: Vec<String>,
    /// Keep only these methods (case-insensitive).
    pub include_methods: Vec<String>,
    /// Leave out these methods.
    pub exclude_methods: Vec<String>,
    /// Keep only paths matching one of these globs (`*` within a segment, `**` across).
    pub include_paths: Vec<String>,
    /// Leave out paths matching any of these globs.
    pub exclude_paths: Vec<String>,
    /// Keep only operationIds matching one of these globs.
    pub include_operations: Vec<String>,
    /// Leave out operationIds matching any of these globs.
    pub exclude_operations: Vec<String>,
}

/// What a filter looks at.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// Tags of the operation.
    pub tags: &'a [String],
    /// Method, as the spec spells it.
    pub method: &'a str,
    /// Path template.
    pub path: &'a str,
    /// operationId, if any.
    pub operation_id: Option<&'a str>,
}

impl Selection {
    /// Every filter list with its command-line flag, includes before excludes, by kind.
    fn lists(&self) -> [(&'static str, &Vec<String>); 8] {
        [
            ("include-tag", &self.include_tags),
            ("exclude-tag", &self.exclude_tags),
            ("include-method", &self.include_methods),
            ("exclude-method", &self.exclude_methods),
            ("include-path", &self.include_paths),
            ("exclude-path", &self.exclude_paths),
            ("include-operation", &self.include_operations),
            ("exclude-operation", &self.exclude_operations),
        ]
    }

    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        *self == Selection::default()
    }

    /// `None` if selected; otherwise why not.
    pub fn rejects(&self, c: Candidate<'_>) -> Option<String> {
        let tag_match = |list: &[String]| {
            list.iter()
                .find(|t| c.tags.iter().any(|tag| tag.eq_ignore_ascii_case(t)))
                .cloned()
        };
        let method_match = |list: &[String]| {
            list.iter()
                .find(|m| m.eq_ignore_ascii_case(c.method))
                .cloned()
        };
        let path_match = |list: &[String]| list.iter().find(|g| glob_match(g, c.path)).cloned();
        let op_match = |list: &[String]| {
            c.operation_id
                .and_then(|id| list.iter().find(|g| glob_match(g, id)).cloned())
        };

        if !self.include_tags.is_empty() && tag_match(&self.include_tags).is_none() {
            return Some(format!(
                "excluded: no tag among --include-tag {}",
                self.include_tags.join(",")
            ));
        }
        if !self.include_methods.is_empty() && method_match(&self.include_methods).is_none() {
            return Some(format!(
                "excluded: method not in --include-method {}",
                self.include_methods.join(",")
            ));
        }
        if !self.include_paths.is_empty() && path_match(&self.include_paths).is_none() {
            return Some(format!(
                "excluded: path matches no --include-path {}",
                self.include_paths.join(",")
            ));
        }
        if !self.include_operations.is_empty() && op_match(&self.include_operations).is_none() {
            return Some(format!(
                "excluded: operationId matches no --include-operation {}",
                self.include_operations.join(",")
            ));
        }
        if let Some(t) = tag_match(&self.exclude_tags) {
            return Some(format!("excluded by --exclude-tag {t}"));
        }
        if let Some(m) = method_match(&self.exclude_methods) {
            return Some(format!("excluded by --exclude-method {m}"));
        }
        if let Some(p) = path_match(&self.exclude_paths) {
            return Some(format!("excluded by --exclude-path {p}"));
        }
        if let Some(o) = op_match(&self.exclude_operations) {
            return Some(format!("excluded by --exclude-operation {o}"));
        }
        None
    }
}

/// Which filter values matched at least one operation, to warn about the ones
/// that matched none (a misspelt tag silently selects nothing).
#[derive(Debug, Default)]
pub struct FilterUse {
    used: std::collections::HashSet<(usize, usize)>,
}

impl FilterUse {
    /// Records which filter values `c` matches.
    pub fn record(&mut self, selection: &Selection, c: Candidate<'_>) {
        for (list_index, (_, list)) in selection.lists().iter().enumerate() {
            for (value_index, value) in list.iter().enumerate() {
                if matches_value(list_index, value, c) {
                    self.used.insert((list_index, value_index));
                }
            }
        }
    }

    /// The filters (`--include-tag billling`) that matched no operation.
    pub fn unmatched(&self, selection: &Selection) -> Vec<String> {
        let mut out = Vec::new();
        for (list_index, (flag, list)) in selection.lists().iter().enumerate() {
            for (value_index, value) in list.iter().enumerate() {
                if !self.used.contains(&(list_index, value_index)) {
                    out.push(format!("--{flag} {value}"));
                }
            }
        }
        out
    }
}

/// Whether filter list `list_index` (in [`Selection::lists`] order) value matches.
fn matches_value(list_index: usize, value: &str, c: Candidate<'_>) -> bool {
    match list_index / 2 {
        0 => c.tags.iter().any(|t| t.eq_ignore_ascii_case(value)),
        1 => value.eq_ignore_ascii_case(c.method),
        2 => glob_match(value, c.path),
        _ => c.operation_id.is_some_and(|id| glob_match(value, id)),
    }
}

/// Glob match: `**` matches anything, `*` anything but `/`, `?` one character but `/`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matching with backtracking over the last star (linear for `*`,
    // and `**` may cross `/`).
    fn go(p: &[char], t: &[char]) -> bool {
        let (mut pi, mut ti) = (0, 0);
        let mut star: Option<(usize, usize, bool)> = None;
        while ti < t.len() {
            if pi < p.len() && p[pi] == '*' {
                let double = p.get(pi + 1) == Some(&'*');
                pi += if double { 2 } else { 1 };
                star = Some((pi, ti, double));
                continue;
            }
            if pi < p.len() && (p[pi] == t[ti] || (p[pi] == '?' && t[ti] != '/')) {
                pi += 1;
                ti += 1;
                continue;
            }
            match star {
                Some((sp, st, double)) if double || t[st] != '/' => {
                    pi = sp;
                    ti = st + 1;
                    star = Some((sp, st + 1, double));
                }
                _ => return false,
            }
        }
        p[pi..].iter().all(|&c| c == '*')
    }
    go(&p, &t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("/admin/**", "/admin/users/{id}"));
        assert!(!glob_match("/admin/*", "/admin/users/{id}"));
        assert!(glob_match("/admin/*", "/admin/users"));
        assert!(glob_match("/public/*", "/public/{id}"));
        assert!(glob_match("get*", "getOrder"));
        assert!(glob_match("**", "/x/y"));
        assert!(!glob_match("/a?c", "/a/c"));
    }

    #[test]
    fn include_and_exclude() {
        let s = Selection {
            include_tags: vec!["billing".into()],
            exclude_methods: vec!["DELETE".into()],
            ..Selection::default()
        };
        let tags = vec!["Billing".to_string()];
        let c = |method| Candidate {
            tags: &tags,
            method,
            path: "/invoices",
            operation_id: None,
        };
        assert_eq!(s.rejects(c("get")), None);
        assert!(s.rejects(c("delete")).unwrap().contains("--exclude-method"));
        let none: Vec<String> = vec![];
        let other = Candidate {
            tags: &none,
            method: "get",
            path: "/x",
            operation_id: None,
        };
        assert!(s.rejects(other).unwrap().contains("--include-tag"));
    }

    #[test]
    fn reports_filters_that_matched_nothing() {
        let s = Selection {
            include_tags: vec!["billing".into(), "billling".into()],
            exclude_paths: vec!["/admin/**".into()],
            ..Selection::default()
        };
        let tags = vec!["billing".to_string()];
        let mut used = FilterUse::default();
        used.record(
            &s,
            Candidate {
                tags: &tags,
                method: "get",
                path: "/invoices",
                operation_id: None,
            },
        );
        assert_eq!(
            used.unmatched(&s),
            vec!["--include-tag billling", "--exclude-path /admin/**"]
        );
    }
}
