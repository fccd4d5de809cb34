//! The catalogue checks of DESIGN.md rule 8, over actions from one or more specs:
//! name and description rules, generic names, names shared across sources, and
//! near-duplicate descriptions. Pure; works on [`Subject`]s so it serves both
//! freshly converted drafts and a stored catalogue.
//!
//! [`check_budget`] weighs what the tool list costs the model: one tool past
//! [`Budget::tool_tokens`], and an audience (a channel and a contact's segments)
//! that would be sent more than [`MAX_TOOLS`] tools or more than
//! [`Budget::audience_tokens`] tokens in all.

use std::collections::{HashMap, HashSet};

use rustc_hash::FxHashMap;
use serde::Deserialize;

use crate::action::{ActionDraft, Channel, MIN_DESCRIPTION, StoredAction};
use crate::convert::naming;
use crate::diagnostic::{Diagnostic, Severity};
use crate::tools::{self, Audience};

/// Word-set similarity (Jaccard) at or above which two descriptions are near-duplicates.
pub const NEAR_DUPLICATE: f64 = 0.8;

/// What lint looks at in one action.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Source name.
    pub source: &'a str,
    /// Operation key.
    pub key: &'a str,
    /// The effective name (a pin wins over the spec's).
    pub name: &'a str,
    /// The effective description.
    pub description: &'a str,
    /// Where the operation is in its spec.
    pub pointer: &'a str,
}

impl<'a> Subject<'a> {
    /// The subject of a draft, with pinned name and description taking effect.
    pub fn of(draft: &'a ActionDraft) -> Subject<'a> {
        let pinned = |field: &str| draft.hand.pins.get(field).and_then(|v| v.as_str());
        Subject {
            source: &draft.source,
            key: &draft.key,
            name: pinned("name").unwrap_or(&draft.spec.name),
            description: pinned("description").unwrap_or(&draft.spec.description),
            pointer: &draft.spec.operation.pointer,
        }
    }
}

/// Nouns that say nothing about what an action does.
const GENERIC_NOUNS: &[&str] = &[
    "data",
    "info",
    "information",
    "item",
    "items",
    "list",
    "all",
    "object",
    "objects",
    "resource",
    "resources",
    "record",
    "records",
    "stuff",
    "thing",
    "things",
    "details",
    "result",
    "results",
    "entity",
    "entities",
    "value",
    "values",
    "request",
    "action",
    "call",
    "endpoint",
    "api",
    "it",
];
/// Verbs that names start with.
const VERBS: &[&str] = &[
    "get", "list", "create", "update", "patch", "delete", "fetch", "retrieve", "post", "put", "do",
    "run", "make", "set", "find", "search", "handle", "process", "send", "add", "remove",
];

/// Whether a name is only a verb and generic nouns (`get_data`, `do_action`).
pub fn is_generic_name(name: &str) -> bool {
    let words: Vec<&str> = name.split('_').filter(|w| !w.is_empty()).collect();
    match words.split_first() {
        Some((verb, rest)) => {
            VERBS.contains(verb)
                && rest
                    .iter()
                    .all(|w| GENERIC_NOUNS.contains(w) || w.chars().all(|c| c.is_ascii_digit()))
        }
        None => true,
    }
}

/// Runs every check. Returns, for each finding, the index of the subject it is about.
pub fn check(subjects: &[Subject<'_>]) -> Vec<(usize, Diagnostic)> {
    let mut out = Vec::new();
    let finding = |s: &Subject<'_>, severity, code: &str, message: String| {
        Diagnostic::new(severity, code, Some(s.key), s.pointer, message)
    };
    let mut first_with_name: HashMap<&str, usize> = HashMap::new();
    for (i, s) in subjects.iter().enumerate() {
        if !naming::is_valid_name(s.name) {
            out.push((i, finding(s, Severity::Error, "invalid-name", format!(
                "the name `{}` is not a valid tool name: 5 to 64 characters of a-z, 0-9 and _", s.name
            ))));
        } else if is_generic_name(s.name) {
            out.push((i, finding(s, Severity::Warning, "generic-name", format!(
                "the name `{}` is generic: the AI cannot tell from it what the action does. Name the noun (order, account, subscription)", s.name
            ))));
        }
        if s.description.chars().count() < MIN_DESCRIPTION {
            out.push((i, finding(s, Severity::Error, "short-description", format!(
                "the description is under {MIN_DESCRIPTION} characters; the AI reads it to decide when to call the action"
            ))));
        }
        match first_with_name.get(s.name) {
            Some(&j) if subjects[j].source != s.source => {
                // Said on both sides. In one catalogue the plan resolves it (the
                // source that applies second takes its prefix), as reconcile does:
                // a warning, so the choice can be made on purpose.
                for (this, that) in [(i, j), (j, i)] {
                    let (s, other) = (&subjects[this], &subjects[that]);
                    out.push((this, finding(s, Severity::Warning, "duplicate-name", format!(
                        "the name `{}` is also the name of `{}` in source `{}`; in one catalogue, the source applied second names its action with its prefix (`{}`). To choose, set a source's name_prefix, or rename one (operationId, or pin a name)",
                        s.name, other.key, other.source,
                        naming::prefixed_name(&naming::default_name_prefix(s.source), s.name)
                    ))));
                }
            }
            Some(_) => {}
            None => {
                first_with_name.insert(s.name, i);
            }
        }
    }
    out.extend(near_duplicates(subjects));
    out.sort_by_key(|(i, _)| *i);
    out
}

/// Most tools OpenAI and Google Vertex take in one request.
pub const MAX_TOOLS: usize = 128;

/// What the tool list may cost, in tokens ([`tools::tokens`]). `actionsync.yaml`'s
/// `token_budget` sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Budget {
    /// One tool's definition (default 4,000: about what the schema budget's 16 KiB
    /// comes to; over the shared corpus of real specs 1 % of tools are larger, their
    /// descriptions making up the rest).
    pub tool_tokens: usize,
    /// Every tool one audience is sent, in all: the tool list is sent on every turn
    /// of a conversation (default 20,000).
    pub audience_tokens: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            tool_tokens: 4_000,
            audience_tokens: 20_000,
        }
    }
}

/// One action for [`check_budget`]: what it is, who sees it, and its cost.
#[derive(Debug, Clone, Copy)]
pub struct Costed<'a> {
    /// The action, as lint names it.
    pub subject: Subject<'a>,
    /// The action (a stored one, or a draft's [`tools::preview`]) for who sees it.
    pub action: &'a StoredAction,
    /// Its token cost.
    pub tokens: usize,
}

/// What [`check_budget`] found.
#[derive(Debug, Default)]
pub struct BudgetFindings {
    /// About one action each: the index of its [`Costed`], and the finding.
    pub actions: Vec<(usize, Diagnostic)>,
    /// About an audience's whole tool list.
    pub audiences: Vec<Diagnostic>,
}

/// Warns about each tool over `budget.tool_tokens`, and each audience that would be
/// sent more than [`MAX_TOOLS`] tools or `budget.audience_tokens` tokens. The
/// audiences are, on each channel, a contact in no segment and a contact in each
/// one segment that some action is restricted to.
pub fn check_budget(actions: &[Costed<'_>], budget: &Budget) -> BudgetFindings {
    let mut findings = BudgetFindings::default();
    for (i, a) in actions.iter().enumerate() {
        if a.tokens > budget.tool_tokens {
            let s = &a.subject;
            findings.actions.push((i, Diagnostic::new(
                Severity::Warning,
                "tool-over-budget",
                Some(s.key),
                s.pointer,
                format!(
                    "the tool `{}` costs {} tokens, over the budget of {} per tool (budget.tool_tokens); shorten its description, leave out parameters the AI need not fill (magic fields), or pin a smaller body",
                    s.name, a.tokens, budget.tool_tokens
                ),
            )));
        }
    }
    let mut segments: Vec<&str> = actions
        .iter()
        .flat_map(|a| a.action.hand.segments.iter())
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    segments.sort_unstable();
    segments.dedup();
    for channel in Channel::ALL {
        let contacts = std::iter::once(None).chain(segments.iter().map(|segment| Some(*segment)));
        for segment in contacts {
            let audience = Audience {
                channel: Some(channel),
                segments: Some(segment.map(|s| vec![s.to_string()]).unwrap_or_default()),
            };
            let seen: Vec<&Costed<'_>> = actions
                .iter()
                .filter(|a| tools::visible(a.action, &audience))
                .collect();
            let tokens: usize = seen.iter().map(|a| a.tokens).sum();
            let who = match segment {
                None => format!("a contact in no segment on {}", channel.as_str()),
                Some(s) => format!("a contact in segment `{s}` on {}", channel.as_str()),
            };
            if seen.len() > MAX_TOOLS {
                findings.audiences.push(Diagnostic::new(
                    Severity::Warning,
                    "too-many-tools",
                    None,
                    "#",
                    format!(
                        "{who} would be sent {} tools; OpenAI and Vertex take at most {MAX_TOOLS} per request. Disable some, or restrict them to channels or segments",
                        seen.len()
                    ),
                ));
            }
            if tokens > budget.audience_tokens {
                findings.audiences.push(Diagnostic::new(
                    Severity::Warning,
                    "audience-over-budget",
                    None,
                    "#",
                    format!(
                        "{who} would be sent {} tools costing {tokens} tokens, over the budget of {} (budget.audience_tokens); that is paid on every turn. Disable some, restrict them to channels or segments, or make them smaller",
                        seen.len(),
                        budget.audience_tokens
                    ),
                ));
            }
        }
    }
    findings
}

fn near_duplicates(subjects: &[Subject<'_>]) -> Vec<(usize, Diagnostic)> {
    let words: Vec<Vec<u64>> = subjects.iter().map(|s| word_set(s.description)).collect();
    let mut order: Vec<usize> = (0..subjects.len())
        .filter(|&i| words[i].len() >= 3)
        .collect();
    order.sort_by_key(|&i| words[i].len());
    let mut reported: HashSet<usize> = HashSet::new();
    let mut out = Vec::new();
    for (a, b) in similar_pairs(&words, &order) {
        let (first, second) = if a < b { (a, b) } else { (b, a) };
        if !reported.insert(second) {
            continue;
        }
        let (s, other) = (&subjects[second], &subjects[first]);
        out.push((second, Diagnostic::new(Severity::Warning, "near-duplicate-description", Some(s.key), s.pointer, format!(
            "the description of `{}` is nearly the same as that of `{}`{}; the AI may pick the wrong one. Say what differs: the noun and the verb",
            s.name, other.name,
            if other.source == s.source { String::new() } else { format!(" in source `{}`", other.source) }
        ))));
    }
    out
}

/// Every pair of the word sets `order` lists (smallest first) whose similarity
/// is at least [`NEAR_DUPLICATE`], the smaller first, in the order of their
/// positions in `order`.
///
/// Comparing every pair was a fifth of a first apply of Microsoft Graph (11,320
/// descriptions, most of a size). Two sets that similar share a word among the
/// first few of each when their words are ranked rarest first ("prefix
/// filtering", as in Bayardo, Ma and Srikant's All-Pairs): only the sets that
/// share such a word with a set are compared with it.
fn similar_pairs(words: &[Vec<u64>], order: &[usize]) -> Vec<(usize, usize)> {
    let mut frequency: FxHashMap<u64, usize> = FxHashMap::default();
    for &i in order {
        for &word in &words[i] {
            *frequency.entry(word).or_default() += 1;
        }
    }
    // Each word → the positions in `order` of the sets with it in their prefix.
    let mut index: FxHashMap<u64, Vec<usize>> = FxHashMap::default();
    // The last position each earlier set was compared for, to compare it once.
    let mut compared_for = vec![usize::MAX; order.len()];
    // For each position, the later positions of the sets similar to it. Filled
    // in increasing `b_pos`, each list is sorted, so reading the lists in turn
    // gives the pairs in order without sorting them: Microsoft Graph's templated
    // descriptions make millions of pairs, and sorting them was a third of lint.
    let mut later: Vec<Vec<usize>> = vec![Vec::new(); order.len()];
    for (b_pos, &b) in order.iter().enumerate() {
        // Each word's frequency looked up once, not at every comparison of the sort.
        let mut ranked: Vec<(usize, u64)> = words[b]
            .iter()
            .map(|word| (frequency.get(word).copied().unwrap_or(0), *word))
            .collect();
        ranked.sort_unstable();
        let prefix: Vec<u64> = ranked[..prefix_len(ranked.len())]
            .iter()
            .map(|&(_, word)| word)
            .collect();
        for word in &prefix {
            for &a_pos in index.get(word).map_or(&[][..], Vec::as_slice) {
                if std::mem::replace(&mut compared_for[a_pos], b_pos) == b_pos {
                    continue;
                }
                let a = order[a_pos];
                if (words[a].len() as f64) >= NEAR_DUPLICATE * words[b].len() as f64
                    && jaccard(&words[a], &words[b]) >= NEAR_DUPLICATE
                {
                    later[a_pos].push(b_pos);
                }
            }
        }
        for word in prefix {
            index.entry(word).or_default().push(b_pos);
        }
    }
    later
        .into_iter()
        .enumerate()
        .flat_map(|(a_pos, similar)| {
            similar
                .into_iter()
                .map(move |b_pos| (order[a_pos], order[b_pos]))
        })
        .collect()
}

/// How many of a set's rarest words two sets at least [`NEAR_DUPLICATE`] alike
/// must share one of: a pair that similar has at least `NEAR_DUPLICATE × size`
/// words in common, so it can miss at most the rest. Rounded down, not up: at
/// worst one word more than needed, never one fewer.
fn prefix_len(size: usize) -> usize {
    let must_share = (NEAR_DUPLICATE * size as f64).floor() as usize;
    (size - must_share.min(size) + 1).min(size)
}

fn word_set(text: &str) -> Vec<u64> {
    let mut words: Vec<u64> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            // An ASCII word lowercases byte by byte, without a copy of its own.
            if w.is_ascii() {
                naming::fnv1a_of(w.bytes().map(|b| b.to_ascii_lowercase()))
            } else {
                naming::fnv1a(w.to_lowercase().as_bytes())
            }
        })
        .collect();
    words.sort_unstable();
    words.dedup();
    words
}

fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - common;
    if union == 0 {
        0.0
    } else {
        common as f64 / union as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pair compared, as the check did before it indexed the words.
    fn similar_pairs_by_comparing_all(words: &[Vec<u64>], order: &[usize]) -> Vec<(usize, usize)> {
        let mut pairs = Vec::new();
        for (a_pos, &a) in order.iter().enumerate() {
            for &b in &order[a_pos + 1..] {
                if (words[a].len() as f64) < NEAR_DUPLICATE * words[b].len() as f64 {
                    break;
                }
                if jaccard(&words[a], &words[b]) >= NEAR_DUPLICATE {
                    pairs.push((a, b));
                }
            }
        }
        pairs
    }

    proptest::proptest! {
        /// The index finds exactly the pairs comparing every pair finds, in the
        /// same order: the same warnings, naming the same other action.
        #[test]
        fn near_duplicate_pairs_are_those_comparing_all_pairs_finds(
            sets in proptest::collection::vec(proptest::collection::btree_set(0u64..40, 3..16), 0..60)
        ) {
            let words: Vec<Vec<u64>> = sets.into_iter().map(|s| s.into_iter().collect()).collect();
            let mut order: Vec<usize> = (0..words.len()).collect();
            order.sort_by_key(|&i| words[i].len());
            proptest::prop_assert_eq!(
                similar_pairs(&words, &order),
                similar_pairs_by_comparing_all(&words, &order)
            );
        }
    }

    #[test]
    fn near_duplicates_are_found_among_many_templated_descriptions() {
        let descriptions: Vec<String> = (0..400)
            .map(|i| {
                format!(
                    "Get entity {i} from the directory of users by key and return its properties"
                )
            })
            .chain(["Delete a thing".to_string()])
            .collect();
        let subjects: Vec<Subject<'_>> = descriptions
            .iter()
            .map(|d| Subject {
                source: "s",
                key: "k",
                name: "n",
                description: d,
                pointer: "#",
            })
            .collect();
        let words: Vec<Vec<u64>> = subjects.iter().map(|s| word_set(s.description)).collect();
        let mut order: Vec<usize> = (0..words.len()).filter(|&i| words[i].len() >= 3).collect();
        order.sort_by_key(|&i| words[i].len());
        let found = similar_pairs(&words, &order);
        assert_eq!(found, similar_pairs_by_comparing_all(&words, &order));
        // Every templated one but the first is warned about, once.
        assert_eq!(near_duplicates(&subjects).len(), 399);
    }
    fn draft(name: &str, description: &str) -> ActionDraft {
        crate::action::example_draft(name, description)
    }

    #[test]
    fn budget_warns_per_tool_and_per_audience() {
        let mut drafts: Vec<ActionDraft> = (0..130)
            .map(|i| {
                draft(
                    &format!("get_order_{i}"),
                    "Look up one order by its number.",
                )
            })
            .collect();
        drafts[0].spec.description = "Look up one order by its number. ".repeat(40);
        // Only VIP contacts on the widget see the last two: the others see 128.
        for d in &mut drafts[128..] {
            d.hand.segments = vec!["vip".to_string()];
        }
        let previews: Vec<StoredAction> = drafts.iter().map(tools::preview).collect();
        let costed: Vec<Costed<'_>> = drafts
            .iter()
            .zip(&previews)
            .map(|(d, p)| Costed {
                subject: Subject::of(d),
                action: p,
                tokens: tools::tokens(p),
            })
            .collect();
        let budget = Budget {
            tool_tokens: 200,
            audience_tokens: 1_000_000,
        };
        let found = check_budget(&costed, &budget);
        let over: Vec<usize> = found.actions.iter().map(|(i, _)| *i).collect();
        assert_eq!(over, [0], "{:?}", found.actions);
        assert!(found.actions[0].1.message.contains("get_order_0"));
        let messages: Vec<&str> = found.audiences.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(
            messages[0].contains("segment `vip` on widget would be sent 130 tools"),
            "{messages:?}"
        );
        assert_eq!(found.audiences[0].code, "too-many-tools");

        let total: usize = costed[..128].iter().map(|c| c.tokens).sum();
        let budget = Budget {
            tool_tokens: 100_000,
            audience_tokens: total,
        };
        let found = check_budget(&costed, &budget);
        assert!(found.actions.is_empty());
        let codes: Vec<(&str, bool)> = found
            .audiences
            .iter()
            .map(|d| (d.code.as_str(), d.message.contains("`vip`")))
            .collect();
        // No segment: exactly at the budget, so only VIP's list (more tools) is over.
        assert_eq!(
            codes,
            [("too-many-tools", true), ("audience-over-budget", true)]
        );
    }

    fn subject<'a>(source: &'a str, name: &'a str, description: &'a str) -> Subject<'a> {
        Subject {
            source,
            key: name,
            name,
            description,
            pointer: "#",
        }
    }

    #[test]
    fn generic_names() {
        assert!(is_generic_name("get_data"));
        assert!(is_generic_name("do_action"));
        assert!(is_generic_name("get_all_items"));
        assert!(!is_generic_name("get_order_by_id"));
        assert!(!is_generic_name("list_invoices"));
    }

    #[test]
    fn finds_duplicates_across_sources_and_near_duplicate_descriptions() {
        let subjects = [
            subject(
                "a",
                "get_customer",
                "Look up a customer by their numeric ID and return the profile.",
            ),
            subject(
                "b",
                "get_customer",
                "Look up a customer by their numeric ID and return the full profile.",
            ),
            subject("b", "get_data", "short"),
            subject(
                "b",
                "find_customer_by_email",
                "Look up a customer by their email address and return the profile.",
            ),
        ];
        let codes: Vec<(usize, String)> = check(&subjects)
            .into_iter()
            .map(|(i, d)| (i, d.code))
            .collect();
        assert!(codes.contains(&(1, "duplicate-name".into())), "{codes:?}");
        assert!(codes.contains(&(0, "duplicate-name".into())), "{codes:?}");
        assert!(
            codes.contains(&(1, "near-duplicate-description".into())),
            "{codes:?}"
        );
        assert!(codes.contains(&(2, "generic-name".into())), "{codes:?}");
        assert!(
            codes.contains(&(2, "short-description".into())),
            "{codes:?}"
        );
        assert!(
            !codes
                .iter()
                .any(|(i, c)| (*i == 0 && c != "duplicate-name") || *i == 3),
            "{codes:?}"
        );
    }
}
