//! Schemas → bounded, self-contained JSON Schema 2020-12: what a model reads.
//!
//! Two steps, so the work grows with the spec and not with the expansion:
//!
//! 1. **Normalise** each schema once ([`Schemas`] keeps every component it has
//!    normalised, keyed by the `$ref`'s identity). Whatever the dialect the spec or
//!    the schema declares (Swagger 2.0, OpenAPI 3.0, 3.1, draft-04/06/07 keywords),
//!    the result uses 2020-12 keywords only: `nullable`/`x-nullable` become a
//!    `"null"` type, boolean `exclusiveMinimum`/`exclusiveMaximum` become numbers,
//!    `example` becomes `examples`, `type: file` a binary string, tuple `items` become
//!    `prefixItems`, `dependencies` become `dependentRequired`/`dependentSchemas`.
//!    Keywords that are not JSON Schema (`discriminator`, `xml`, `x-…`, `$id`,
//!    `definitions`, …) go, and so do keyword values the 2020-12 meta-schema would
//!    refuse (`minimum: "5"`), each with a warning. `$ref`s stay references.
//! 2. **Build** one root (a parameter's schema or a request body) from those within
//!    a [`SchemaBudget`]. The result has no `$ref` and no `$defs`. What does not fit
//!    is cut deterministically, and the cut node keeps its type while its
//!    description says what was left out and why ("A Team (not expanded:
//!    recursive)"); every cut is reported as a [`Cut`]. The rules, in order:
//!    - a reference met again inside itself is cut (*recursive*);
//!    - a node at the deepest level the budget allows keeps its own keywords but
//!      not its subschemas (*depth limit*); the tool's input schema is level 1,
//!      each parameter and the body level 2, and a `$ref` or an `allOf` branch adds
//!      no level (its branches usually merge into the node);
//!    - an object with more properties than the budget keeps the required ones
//!      first, then the others in spec order (*property limit*);
//!    - an `enum` longer than the budget is dropped; the description lists its
//!      first values (*enum limit*);
//!    - a `oneOf`/`anyOf` with more branches than the budget collapses to the
//!      branches' common type, its description naming them (*union limit*);
//!    - if the result is larger than the bytes left for it, object-valued examples
//!      go first, then the deepest level, level by level, then properties of the
//!      root are halved (*size limit*); a root that still does not fit is cut whole.
//!
//!    Trivial `allOf` wrappers merge into the node that holds them: empty branches
//!    go, annotation-only branches give their annotations, and a branch whose
//!    keywords do not clash with the node's merges into it (properties and
//!    `required` are joined). Request bodies drop `readOnly` properties.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use url::Url;

use crate::spec::{Field, RefError, Spec, pointer};

/// Limits on one action's tool schema. The defaults were chosen by measurement
/// over a corpus of real specs (BENCHMARKS.md, "Tool schemas"), so that nearly
/// every operation is left whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchemaBudget {
    /// The deepest nesting level (the tool's input schema is level 1, each
    /// parameter and the body level 2). At most [`SchemaBudget::MAX_DEPTH`].
    pub max_depth: usize,
    /// Bytes of the serialised schemas of the parameters and the body together.
    /// At most [`SchemaBudget::MAX_BYTES`].
    pub max_bytes: usize,
    /// Properties one object may list.
    pub max_properties: usize,
    /// Values one `enum` may list.
    pub max_enum: usize,
    /// Branches one `oneOf` or `anyOf` may have.
    pub max_union: usize,
}

impl SchemaBudget {
    /// The loosest depth allowed: OpenAI's strict mode takes at most 10 levels.
    pub const MAX_DEPTH: usize = 10;
    /// The loosest size allowed for one tool's schemas.
    pub const MAX_BYTES: usize = 16 * 1024;

    /// Whether every limit is within what the models accept; the message names
    /// the limit that is not.
    pub fn check(&self) -> Result<(), String> {
        if !(2..=Self::MAX_DEPTH).contains(&self.max_depth) {
            return Err(format!(
                "max_depth is {}; it must be 2 to {} (OpenAI's strict mode takes at most {} levels)",
                self.max_depth,
                Self::MAX_DEPTH,
                Self::MAX_DEPTH
            ));
        }
        if !(256..=Self::MAX_BYTES).contains(&self.max_bytes) {
            return Err(format!(
                "max_bytes is {}; it must be 256 to {} (16 KiB)",
                self.max_bytes,
                Self::MAX_BYTES
            ));
        }
        for (name, value) in [
            ("max_properties", self.max_properties),
            ("max_enum", self.max_enum),
            ("max_union", self.max_union),
        ] {
            if value == 0 {
                return Err(format!("{name} must be at least 1"));
            }
        }
        Ok(())
    }
}

impl Default for SchemaBudget {
    fn default() -> Self {
        SchemaBudget {
            max_depth: Self::MAX_DEPTH,
            max_bytes: Self::MAX_BYTES,
            max_properties: 100,
            max_enum: 250,
            max_union: 16,
        }
    }
}

/// What the schema describes; request bodies drop `readOnly` properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A request body: `readOnly` properties are not sent, so they are dropped.
    RequestBody,
    /// A parameter.
    Parameter,
}

/// Why part of a schema was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CutReason {
    /// A reference met again inside itself.
    Recursive,
    /// Nested deeper than the budget's depth.
    DepthLimit,
    /// The tool would be larger than the budget's bytes.
    SizeLimit,
    /// An object with more properties than the budget.
    PropertyLimit,
    /// An `enum` with more values than the budget.
    EnumLimit,
    /// A `oneOf`/`anyOf` with more branches than the budget.
    UnionLimit,
}

impl CutReason {
    /// The words a cut node's description ends with: "(not expanded: …)".
    pub fn as_str(self) -> &'static str {
        match self {
            CutReason::Recursive => "recursive",
            CutReason::DepthLimit => "depth limit",
            CutReason::SizeLimit => "size limit",
            CutReason::PropertyLimit => "property limit",
            CutReason::EnumLimit => "enum limit",
            CutReason::UnionLimit => "union limit",
        }
    }
}

/// One place where a built schema left something out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// Why.
    pub reason: CutReason,
    /// JSON pointer to the cut node in the built schema (`""` for its root).
    pub at: String,
    /// The component the node comes from, when it is one (`Team`).
    pub component: Option<String>,
}

/// A schema built for one root, and what happened on the way.
#[derive(Debug)]
pub struct Built {
    /// The JSON Schema: finite, no `$ref`, no `$defs`. Shared: a request body
    /// that many operations send is one tree, held by the cache and by each of
    /// their actions ([`crate::action::Body::schema`]).
    pub schema: Arc<Value>,
    /// Caveats worth a warning (a keyword value that was not valid, a schema that
    /// was not an object).
    pub warnings: Vec<String>,
    /// What was left out to stay within the budget.
    pub cuts: Vec<Cut>,
}

/// The schemas of one spec: each component normalised once, on first use, and
/// built into bounded schemas as often as operations need them.
pub struct Schemas<'s> {
    spec: &'s Spec,
    components: RefCell<HashMap<String, Rc<Component>>>,
    /// Where each reference met while normalising points, or why it cannot be
    /// followed (reported only if a build reaches it).
    targets: RefCell<HashMap<String, Result<Target<'s>, RefError>>>,
    /// Builds by root and budget, each with the byte limits it holds for:
    /// operations share bodies (Microsoft Graph's 11,422 operations build a few
    /// thousand distinct ones), and a build is a pure function of its key and
    /// the byte limit.
    built: RefCell<HashMap<String, Vec<Fitted>>>,
    /// Each distinct parameter schema built so far, by the digest of its JSON:
    /// operations that take the same parameter hold one tree (Microsoft Graph
    /// repeats its `$select` and `$expand` enums, inline, in thousands of them).
    parameters: RefCell<HashMap<u128, Vec<Arc<Value>>>>,
}

/// Parameter schemas shorter than this (as JSON) are not shared: most are
/// `{"type":"string"}` and the like, which cost more to hash than they hold.
const MIN_SHARED_PARAMETER: usize = 64;

/// A build, and the byte limits under which the same root builds the same.
struct Fitted {
    built: Built,
    /// The expansion's estimate only grows and the byte limit acts only through it
    /// and the serialised length: an attempt that fitted fits under any limit at
    /// least both, and one that failed fails under any smaller limit.
    valid: std::ops::RangeInclusive<usize>,
}

/// One try at a budget.
struct Attempt {
    fits: bool,
    /// The least byte limit under which this attempt fits.
    needs: usize,
    built: Built,
}

/// Roots longer than this (serialised, normalised) are not cached: a key must be
/// cheap to make, and a root that large is rarely shared.
const MAX_CACHED_ROOT: usize = 2048;

/// A reference's target: the schema and the document it lives in.
type Target<'s> = (&'s Value, &'s Url);

/// A component schema, normalised.
struct Component {
    schema: Value,
    /// The component's name (the last token of its pointer), for cut descriptions.
    name: String,
    /// What normalising it found; reported by the first build that uses it.
    warnings: RefCell<Vec<String>>,
}

/// The key that marks a normalised reference: the identity of its target, so no
/// later step needs the document the reference was written in.
const REF: &str = "$ref";

impl<'s> Schemas<'s> {
    /// Schemas of `spec`; nothing is normalised until a build needs it.
    pub fn new(spec: &'s Spec) -> Self {
        Schemas {
            spec,
            components: RefCell::new(HashMap::new()),
            targets: RefCell::new(HashMap::new()),
            built: RefCell::new(HashMap::new()),
            parameters: RefCell::new(HashMap::new()),
        }
    }

    /// `schema`, or an equal tree built before: parameter schemas are shared
    /// once built, the way request bodies are (their builds are not cached: a key
    /// made before building cost about what building does).
    pub fn share_parameter(&self, schema: Arc<Value>) -> Arc<Value> {
        if crate::json_text::compact_len(&schema) < MIN_SHARED_PARAMETER {
            return schema;
        }
        let digest = crate::json_text::digest(&schema);
        let mut parameters = self.parameters.borrow_mut();
        let same = parameters.entry(digest).or_default();
        // The digest finds the candidates; equality decides.
        if let Some(earlier) = same.iter().find(|earlier| ***earlier == *schema) {
            return Arc::clone(earlier);
        }
        same.push(Arc::clone(&schema));
        schema
    }

    /// Builds the bounded schema of `schema` (which lives in document `base`),
    /// whose serialised form may take at most `max_bytes`. Fails only on a `$ref`
    /// that cannot be followed, where the build reaches one: the schema would be
    /// wrong.
    pub fn build(
        &self,
        base: &Url,
        schema: &Value,
        purpose: Purpose,
        budget: &SchemaBudget,
        max_bytes: usize,
    ) -> Result<Built, RefError> {
        let mut warnings = Vec::new();
        let root = self.normalise(schema, base, &mut warnings);
        // Parameters are small and seldom shared whole: their key would cost
        // about what building them does.
        let key = match purpose {
            Purpose::RequestBody => cache_key(&root, purpose, budget),
            Purpose::Parameter => None,
        };
        let mut built = match key.as_ref().and_then(|key| self.cached(key, max_bytes)) {
            Some(built) => built,
            None => {
                let fitted = self.fit(&root, purpose, budget, max_bytes)?;
                self.remember(key, &fitted);
                fitted.built
            }
        };
        warnings.append(&mut built.warnings);
        built.warnings = warnings;
        Ok(built)
    }

    /// A build of the same root under a byte limit for which it comes out the same.
    fn cached(&self, key: &str, max_bytes: usize) -> Option<Built> {
        let built = self.built.borrow();
        let fitted = built
            .get(key)?
            .iter()
            .find(|f| f.valid.contains(&max_bytes))?;
        Some(Built {
            schema: Arc::clone(&fitted.built.schema),
            warnings: Vec::new(),
            cuts: fitted.built.cuts.clone(),
        })
    }

    /// Keeps a build for later ones of the same root. A build that found warnings
    /// reports them once (a component's are taken by the first build that reaches
    /// it): only a quiet one is kept.
    fn remember(&self, key: Option<String>, fitted: &Fitted) {
        if let Some(key) = key
            && fitted.built.warnings.is_empty()
        {
            let copy = Fitted {
                built: Built {
                    schema: Arc::clone(&fitted.built.schema),
                    warnings: Vec::new(),
                    cuts: fitted.built.cuts.clone(),
                },
                valid: fitted.valid.clone(),
            };
            self.built.borrow_mut().entry(key).or_default().push(copy);
        }
    }

    /// Tries the full budget, then ever smaller ones, until the schema fits.
    fn fit(
        &self,
        root: &Value,
        purpose: Purpose,
        budget: &SchemaBudget,
        max_bytes: usize,
    ) -> Result<Fitted, RefError> {
        /// The level of a parameter's or the body's schema in the tool's input schema.
        const ROOT_LEVEL: usize = 2;
        let attempt = |depth: usize, properties: usize, examples: bool| {
            // Below the budget's own limits, what forced the cut is the size.
            let reason = |own: CutReason, limited: bool| {
                if limited { CutReason::SizeLimit } else { own }
            };
            let mut expansion = Expansion {
                schemas: self,
                purpose,
                depth_limit: depth,
                max_properties: properties,
                max_enum: budget.max_enum,
                max_union: budget.max_union,
                object_examples: examples,
                depth_reason: reason(CutReason::DepthLimit, depth < budget.max_depth),
                property_reason: reason(
                    CutReason::PropertyLimit,
                    properties < budget.max_properties,
                ),
                stack: Vec::new(),
                path: String::new(),
                cuts: Vec::new(),
                warnings: Vec::new(),
                estimate: 0,
                abort_above: max_bytes,
            };
            let schema = expansion.expand(root, ROOT_LEVEL, None)?;
            let len = serialized_len(&schema);
            let fits = !expansion.aborted()
                && nesting(&schema, ROOT_LEVEL) <= budget.max_depth
                && len <= max_bytes;
            Ok::<_, RefError>(Attempt {
                fits,
                // The least limit under which this attempt fits as well.
                needs: expansion.estimate.max(len),
                built: Built {
                    schema: Arc::new(schema),
                    warnings: expansion.warnings,
                    cuts: expansion.cuts,
                },
            })
        };
        // Once an attempt has failed, a larger limit might let it fit: the result
        // holds only up to this one.
        let within = |chosen: Attempt, failed_before: bool| Fitted {
            valid: chosen.needs..=if failed_before { max_bytes } else { usize::MAX },
            built: chosen.built,
        };

        let first = attempt(budget.max_depth, budget.max_properties, true)?;
        if first.fits {
            return Ok(within(first, false));
        }
        let plain = attempt(budget.max_depth, budget.max_properties, false)?;
        if plain.fits {
            return Ok(within(plain, true));
        }
        // The deepest level that fits, by bisection: more depth, more bytes.
        let (mut low, mut high) = (ROOT_LEVEL + 1, budget.max_depth.saturating_sub(1));
        let mut best = None;
        while low <= high {
            let depth = low + (high - low) / 2;
            let tried = attempt(depth, budget.max_properties, false)?;
            if tried.fits {
                best = Some(tried);
                low = depth + 1;
            } else {
                high = depth - 1;
            }
        }
        if let Some(best) = best {
            return Ok(within(best, true));
        }
        let mut properties = budget.max_properties / 2;
        while properties >= 1 {
            let tried = attempt(ROOT_LEVEL + 1, properties, false)?;
            if tried.fits {
                return Ok(within(tried, true));
            }
            properties /= 2;
        }
        let mut last = attempt(ROOT_LEVEL, 1, false)?;
        if !last.fits {
            // Even its own keywords are too large (a huge description or enum).
            last.built.schema = Arc::new(cut_node(&last.built.schema, None, CutReason::SizeLimit));
            last.built.cuts = vec![Cut {
                reason: CutReason::SizeLimit,
                at: String::new(),
                component: None,
            }];
            last.needs = 0;
        }
        Ok(within(last, true))
    }

    /// The normalised component a reference identity names, normalising it on
    /// first use.
    fn component(&self, identity: &str) -> Result<Rc<Component>, RefError> {
        if let Some(found) = self.components.borrow().get(identity) {
            return Ok(found.clone());
        }
        let target = self.targets.borrow().get(identity).cloned();
        let (value, base) = match target {
            Some(Ok(target)) => target,
            Some(Err(e)) => return Err(e),
            None => {
                return Err(RefError::Loop(identity.to_string()));
            }
        };
        let mut warnings = Vec::new();
        let schema = self.normalise(value, base, &mut warnings);
        let component = Rc::new(Component {
            schema,
            name: component_name(identity),
            warnings: RefCell::new(warnings),
        });
        self.components
            .borrow_mut()
            .insert(identity.to_string(), component.clone());
        Ok(component)
    }

    /// One schema in 2020-12 keywords, references left as references (by identity).
    fn normalise(&self, value: &Value, base: &Url, warnings: &mut Vec<String>) -> Value {
        let map = match value {
            Value::Object(map) => map,
            Value::Bool(b) => return Value::Bool(*b),
            other => {
                warnings.push(format!(
                    "a schema is {} instead of an object; it accepts any value",
                    kind_of(other)
                ));
                return json!({});
            }
        };
        if let Some(Value::String(reference)) = map.field(REF) {
            return self.normalise_ref(reference, map, base, warnings);
        }

        let mut out = Map::with_capacity(map.len());
        let mut nullable = false;
        let mut exclusive = [false, false];
        let mut example = None;
        for (key, child) in map {
            let key = key.as_str();
            match key {
                "nullable" | "x-nullable" => nullable |= child == &Value::Bool(true),
                "example" => example = Some(child),
                "exclusiveMinimum" if child.is_boolean() => exclusive[0] = child == true,
                "exclusiveMaximum" if child.is_boolean() => exclusive[1] = child == true,
                "properties" | "patternProperties" | "dependentSchemas" => {
                    if let Value::Object(children) = child {
                        let converted = children
                            .iter()
                            .map(|(name, sub)| (name.clone(), self.normalise(sub, base, warnings)))
                            .collect();
                        out.insert(key.to_string(), Value::Object(converted));
                    }
                }
                "items" => match child {
                    // Draft-04 tuples (seen in Swagger 2.0 specs).
                    Value::Array(items) => {
                        // An empty tuple is refused by draft-04 and 2020-12 alike
                        // (`prefixItems` takes at least one schema); every item is
                        // then an additional one.
                        if items.is_empty() {
                            warnings.push(
                                "`items: []` (a tuple of no items) is not valid JSON Schema 2020-12; it is left out".to_string(),
                            );
                        } else {
                            let converted = items
                                .iter()
                                .map(|item| self.normalise(item, base, warnings))
                                .collect();
                            out.insert("prefixItems".to_string(), Value::Array(converted));
                        }
                        if let Some(extra @ (Value::Object(_) | Value::Bool(_))) =
                            map.field("additionalItems")
                        {
                            out.insert("items".to_string(), self.normalise(extra, base, warnings));
                        }
                    }
                    Value::Object(_) | Value::Bool(_) => {
                        out.insert("items".to_string(), self.normalise(child, base, warnings));
                    }
                    _ => {}
                },
                "dependencies" => {
                    // Draft-04..07: a list means required names, a schema a schema.
                    let Value::Object(entries) = child else {
                        continue;
                    };
                    for (name, entry) in entries {
                        let (keyword, converted) = match entry {
                            Value::Array(_) => ("dependentRequired", string_set(entry)),
                            _ => ("dependentSchemas", self.normalise(entry, base, warnings)),
                        };
                        if let Value::Object(target) = out
                            .entry(keyword.to_string())
                            .or_insert_with(|| Value::Object(Map::new()))
                        {
                            target.insert(name.clone(), converted);
                        }
                    }
                }
                "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                    if let Value::Array(items) = child
                        && !items.is_empty()
                    {
                        let converted = items
                            .iter()
                            .map(|item| self.normalise(item, base, warnings))
                            .collect();
                        out.insert(key.to_string(), Value::Array(converted));
                    }
                }
                _ if SCHEMA_ONE.contains(&key) => {
                    if matches!(child, Value::Object(_) | Value::Bool(_)) {
                        out.insert(key.to_string(), self.normalise(child, base, warnings));
                    }
                }
                "type" if child == "file" => {
                    out.insert("type".to_string(), json!("string"));
                    out.insert("format".to_string(), json!("binary"));
                }
                // Swagger 1.x style `required: true` on a schema means nothing here.
                "required" if child.is_array() => {
                    out.insert(key.to_string(), string_set(child));
                }
                "required" => {}
                _ if KEYWORDS.contains(&key) => match valid_value(key, child) {
                    Some(value) => {
                        out.insert(key.to_string(), value);
                    }
                    None => warnings.push(format!(
                        "`{key}: {}` is not valid JSON Schema 2020-12; it is left out",
                        short(child)
                    )),
                },
                // OpenAPI-only keywords (discriminator, xml, externalDocs), `x-`
                // extensions, identifiers that would change how references resolve
                // (`$id`, `$anchor`, `$schema`), `definitions`/`$defs` (reached through
                // references, never where they stand).
                _ => {}
            }
        }
        let bounds = [
            ("exclusiveMinimum", "minimum"),
            ("exclusiveMaximum", "maximum"),
        ];
        for (on, (flag, bound)) in exclusive.into_iter().zip(bounds) {
            if on && let Some(limit) = out.remove(bound) {
                out.insert(flag.to_string(), limit);
            }
        }
        if let Some(example) = example
            && !out.contains_key("examples")
        {
            out.insert("examples".to_string(), Value::Array(vec![example.clone()]));
        }
        if nullable {
            return make_nullable(out);
        }
        Value::Object(out)
    }

    /// A `$ref` with the keywords beside it. OpenAPI 3.1 (JSON Schema 2020-12)
    /// applies them all; 3.0 and 2.0 say to ignore them, but specs put
    /// `description` there expecting it to show, so annotations are kept in every
    /// dialect.
    fn normalise_ref(
        &self,
        reference: &str,
        map: &Map<String, Value>,
        base: &Url,
        warnings: &mut Vec<String>,
    ) -> Value {
        let identity = self.spec.ref_identity(base, reference);
        if !self.targets.borrow().contains_key(&identity) {
            let target = self
                .spec
                .resolve_ref(base, reference)
                .map(|resolved| (resolved.value, resolved.base));
            self.targets.borrow_mut().insert(identity.clone(), target);
        }
        let mut node = Map::new();
        node.insert(REF.to_string(), Value::String(identity));
        let mut constraints = Map::new();
        for (key, value) in map {
            let key = key.as_str();
            if key == REF || key.starts_with("x-") {
                continue;
            }
            if ANNOTATIONS.contains(&key) {
                if let Some(value) = valid_value(key, value) {
                    node.insert(key.to_string(), value);
                }
            } else if self.spec.version() == crate::spec::SpecVersion::OpenApi31 {
                constraints.insert(key.to_string(), value.clone());
            }
        }
        if constraints.is_empty() {
            return Value::Object(node);
        }
        let mut rest = match self.normalise(&Value::Object(constraints), base, warnings) {
            Value::Object(rest) => rest,
            _ => Map::new(),
        };
        let mut all_of = vec![Value::Object(node)];
        if let Some(Value::Array(more)) = rest.remove("allOf") {
            all_of.extend(more);
        }
        rest.insert("allOf".to_string(), Value::Array(all_of));
        Value::Object(rest)
    }
}

/// One build of one root under fixed limits.
struct Expansion<'a, 's> {
    schemas: &'a Schemas<'s>,
    purpose: Purpose,
    /// The deepest level a node may keep subschemas above.
    depth_limit: usize,
    max_properties: usize,
    max_enum: usize,
    max_union: usize,
    /// Whether object- and list-valued `examples` are kept.
    object_examples: bool,
    /// What a node cut at the depth limit says: the depth, or the size that forced it.
    depth_reason: CutReason,
    /// What an object cut at the property limit says, likewise.
    property_reason: CutReason,
    /// Identities of the references being expanded, outermost first.
    stack: Vec<String>,
    /// JSON pointer of the node being built.
    path: String,
    cuts: Vec<Cut>,
    warnings: Vec<String>,
    /// A lower bound of the serialised size so far.
    estimate: usize,
    /// Past this estimate the build gives up: it cannot fit.
    abort_above: usize,
}

impl Expansion<'_, '_> {
    fn aborted(&self) -> bool {
        self.estimate > self.abort_above
    }

    /// Expands a normalised node at `level`. `component` names the component the
    /// node is the root of, for descriptions of cuts.
    fn expand(
        &mut self,
        node: &Value,
        level: usize,
        component: Option<&str>,
    ) -> Result<Value, RefError> {
        if self.aborted() {
            return Ok(Value::Bool(true));
        }
        let map = match node {
            Value::Object(map) => map,
            other => {
                self.estimate += 5;
                return Ok(other.clone());
            }
        };
        // Every node costs at least its braces and a separator: so even a tree of
        // empty schemas stops once it could not fit.
        self.estimate += 3;
        if let Some(Value::String(identity)) = map.field(REF) {
            return self.expand_ref(identity, map, level);
        }
        if level >= self.depth_limit && has_subschemas(map) {
            let reason = self.depth_reason;
            return Ok(self.cut(node, component, reason));
        }

        let mut out = Map::with_capacity(map.len());
        let mut notes: Vec<String> = Vec::new();
        let mut dropped: Vec<String> = Vec::new();
        for (key, child) in map {
            let key = key.as_str();
            match key {
                "properties" => {
                    let Value::Object(children) = child else {
                        continue;
                    };
                    // A request body never sends `readOnly` properties: they go
                    // before they are built or counted against the limit.
                    let mut sendable: Vec<&str> = Vec::with_capacity(children.len());
                    for (name, sub) in children {
                        if self.purpose == Purpose::RequestBody && self.read_only(sub)? {
                            dropped.push(name.clone());
                        } else {
                            sendable.push(name);
                        }
                    }
                    let kept = self.kept_properties(map, &sendable, component, &mut notes);
                    let mut converted = Map::with_capacity(kept.len());
                    for (name, sub) in children {
                        if !kept.contains(&name.as_str()) {
                            if sendable.contains(&name.as_str()) {
                                dropped.push(name.clone());
                            }
                            continue;
                        }
                        let sub = self.child(sub, level + 1, &["properties", name])?;
                        self.estimate += name.len() + 4;
                        converted.insert(name.clone(), sub);
                    }
                    out.insert(key.to_string(), Value::Object(converted));
                }
                "patternProperties" | "dependentSchemas" => {
                    let Value::Object(children) = child else {
                        continue;
                    };
                    let mut converted = Map::with_capacity(children.len());
                    for (name, sub) in children {
                        let sub = self.child(sub, level + 1, &[key, name])?;
                        converted.insert(name.clone(), sub);
                    }
                    out.insert(key.to_string(), Value::Object(converted));
                }
                "allOf" => {
                    let Value::Array(items) = child else { continue };
                    let mut converted = Vec::with_capacity(items.len());
                    for (i, item) in items.iter().enumerate() {
                        // Branches usually merge into this node: no level of their own.
                        converted.push(self.child(item, level, &[key, &i.to_string()])?);
                    }
                    out.insert(key.to_string(), Value::Array(converted));
                }
                "anyOf" | "oneOf" => {
                    let Value::Array(items) = child else { continue };
                    if items.len() > self.max_union {
                        self.collapse_union(key, items, component, &mut out, &mut notes)?;
                        continue;
                    }
                    let mut converted = Vec::with_capacity(items.len());
                    for (i, item) in items.iter().enumerate() {
                        converted.push(self.child(item, level + 1, &[key, &i.to_string()])?);
                    }
                    out.insert(key.to_string(), Value::Array(converted));
                }
                "prefixItems" => {
                    let Value::Array(items) = child else { continue };
                    let mut converted = Vec::with_capacity(items.len());
                    for (i, item) in items.iter().enumerate() {
                        converted.push(self.child(item, level + 1, &[key, &i.to_string()])?);
                    }
                    out.insert(key.to_string(), Value::Array(converted));
                }
                _ if SCHEMA_ONE.contains(&key) || key == "items" => {
                    let sub = self.child(child, level + 1, &[key])?;
                    out.insert(key.to_string(), sub);
                }
                "enum" => {
                    let Value::Array(values) = child else {
                        continue;
                    };
                    if values.len() > self.max_enum {
                        notes.push(enum_note(values));
                        self.record(CutReason::EnumLimit, component);
                        continue;
                    }
                    self.estimate += key.len() + approx_len(child);
                    out.insert(key.to_string(), child.clone());
                }
                "examples" | "default"
                    if !self.object_examples
                        && matches!(child, Value::Object(_) | Value::Array(_)) =>
                {
                    if key == "examples"
                        && let Value::Array(values) = child
                    {
                        let scalars: Vec<Value> = values
                            .iter()
                            .filter(|v| !matches!(v, Value::Object(_) | Value::Array(_)))
                            .cloned()
                            .collect();
                        if !scalars.is_empty() {
                            out.insert(key.to_string(), Value::Array(scalars));
                        }
                    }
                }
                _ => {
                    self.estimate += key.len() + 3 + approx_len(child);
                    out.insert(key.to_string(), child.clone());
                }
            }
        }
        if !dropped.is_empty() {
            drop_required(&mut out, &dropped);
        }
        if !notes.is_empty() {
            append_description(&mut out, &notes.join(" "));
        }
        merge_all_of(&mut out);
        Ok(Value::Object(out))
    }

    /// A subschema, with its pointer tokens pushed onto the path while it is built.
    fn child(&mut self, node: &Value, level: usize, tokens: &[&str]) -> Result<Value, RefError> {
        let mark = self.path.len();
        for token in tokens {
            self.path.push('/');
            self.path.push_str(&pointer::escape(token));
        }
        let result = self.expand(node, level, None);
        self.path.truncate(mark);
        result
    }

    fn expand_ref(
        &mut self,
        identity: &str,
        node: &Map<String, Value>,
        level: usize,
    ) -> Result<Value, RefError> {
        let component = self.schemas.component(identity)?;
        let mut fresh = component.warnings.take();
        self.warnings.append(&mut fresh);
        let mut expanded = if self.stack.iter().any(|s| s == identity) {
            self.cut(
                &component.schema,
                Some(&component.name),
                CutReason::Recursive,
            )
        } else {
            self.stack.push(identity.to_string());
            let expanded = self.expand(&component.schema, level, Some(&component.name));
            self.stack.pop();
            expanded?
        };
        // Annotations beside the reference describe this use of it: they win.
        if let Value::Object(target) = &mut expanded {
            for (key, value) in node {
                if key != REF {
                    if key == "description"
                        && let Some(Value::String(existing)) = target.field("description")
                        && let Some(note) = existing.rfind(" (not expanded: ")
                        && let Value::String(text) = value
                    {
                        let note = existing[note..].to_string();
                        target.insert(key.clone(), Value::String(format!("{text}{note}")));
                        continue;
                    }
                    self.estimate += key.len() + 3 + approx_len(value);
                    target.insert(key.clone(), value.clone());
                }
            }
        }
        Ok(expanded)
    }

    /// Whether a normalised node is `readOnly`: itself, beside its reference, or
    /// its reference's target.
    fn read_only(&self, node: &Value) -> Result<bool, RefError> {
        let flagged = |v: &Value| v.field("readOnly") == Some(&Value::Bool(true));
        if flagged(node) {
            return Ok(true);
        }
        match node.field(REF).and_then(Value::as_str) {
            Some(identity) => Ok(flagged(&self.schemas.component(identity)?.schema)),
            None => Ok(false),
        }
    }

    /// The node without its subschemas: its type, what it is, and why it stops here.
    fn cut(&mut self, node: &Value, component: Option<&str>, reason: CutReason) -> Value {
        self.record(reason, component);
        let out = cut_node(node, component, reason);
        self.estimate += approx_len(&out);
        out
    }

    fn record(&mut self, reason: CutReason, component: Option<&str>) {
        self.cuts.push(Cut {
            reason,
            at: self.path.clone(),
            component: component.map(str::to_string),
        });
    }

    /// The names of the properties kept: all when within the budget, else the
    /// required ones first, then the others in spec order.
    fn kept_properties<'m>(
        &mut self,
        map: &Map<String, Value>,
        names: &[&'m str],
        component: Option<&str>,
        notes: &mut Vec<String>,
    ) -> Vec<&'m str> {
        if names.len() <= self.max_properties {
            return names.to_vec();
        }
        let required: Vec<&str> = map
            .field("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut kept: Vec<&str> = names
            .iter()
            .copied()
            .filter(|name| required.contains(name))
            .take(self.max_properties)
            .collect();
        for name in names {
            if kept.len() >= self.max_properties {
                break;
            }
            if !kept.contains(name) {
                kept.push(name);
            }
        }
        let left = names.len() - kept.len();
        let reason = self.property_reason;
        notes.push(format!(
            "({left} more properties not listed: {})",
            reason.as_str()
        ));
        self.record(reason, component);
        kept
    }

    /// A union of more branches than the budget: the branches' common type, and a
    /// description that names them.
    fn collapse_union(
        &mut self,
        key: &str,
        branches: &[Value],
        component: Option<&str>,
        out: &mut Map<String, Value>,
        notes: &mut Vec<String>,
    ) -> Result<(), RefError> {
        let mut types: Vec<String> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for branch in branches {
            let target = match branch.field(REF).and_then(Value::as_str) {
                Some(identity) => Some(self.schemas.component(identity)?),
                None => None,
            };
            let node = target.as_ref().map_or(branch, |t| &t.schema);
            let name = target.as_ref().map(|t| t.name.clone());
            let kind = type_of(node);
            if let Some(kind) = &kind
                && !types.contains(kind)
            {
                types.push(kind.clone());
            }
            if kind.is_none() && !types.iter().any(|t| t == "?") {
                types.push("?".to_string());
            }
            let title = node
                .field("title")
                .and_then(Value::as_str)
                .map(str::to_string);
            names.push(title.or(name).or(kind).unwrap_or_else(|| "any".to_string()));
        }
        if let [only] = types.as_slice()
            && only != "?"
            && !out.contains_key("type")
        {
            out.insert("type".to_string(), Value::String(only.clone()));
        }
        let listed: Vec<&str> = names.iter().take(10).map(String::as_str).collect();
        let more = if names.len() > listed.len() {
            ", …"
        } else {
            ""
        };
        let word = if key == "oneOf" { "One of" } else { "Any of" };
        notes.push(format!(
            "{word}: {}{more} (not expanded: {})",
            listed.join(", "),
            CutReason::UnionLimit.as_str()
        ));
        self.record(CutReason::UnionLimit, component);
        Ok(())
    }
}

/// A node cut short: its type and flags, and a description that says what it was
/// and why it stops here.
fn cut_node(node: &Value, component: Option<&str>, reason: CutReason) -> Value {
    let mut out = Map::new();
    if let Some(kind) = type_of(node) {
        out.insert(
            "type".to_string(),
            node.field("type").cloned().unwrap_or(json!(kind)),
        );
    }
    for key in ["format", "readOnly", "writeOnly", "deprecated"] {
        if let Some(value) = node.get(key) {
            out.insert(key.to_string(), value.clone());
        }
    }
    let what = node
        .field("description")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.split(" (not expanded: ").next().unwrap_or(d).to_string())
        .or_else(|| {
            node.field("title")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .or_else(|| component.map(str::to_string))
        .unwrap_or_else(|| match type_of(node).as_deref() {
            Some("object") => "An object".to_string(),
            Some("array") => "A list".to_string(),
            _ => "A value".to_string(),
        });
    out.insert(
        "description".to_string(),
        Value::String(format!("{what} (not expanded: {})", reason.as_str())),
    );
    Value::Object(out)
}

/// The JSON type a normalised node stands for, when it says or its keywords show.
fn type_of(node: &Value) -> Option<String> {
    match node.field("type") {
        Some(Value::String(t)) => return Some(t.clone()),
        Some(Value::Array(types)) => {
            let real: Vec<&str> = types
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .collect();
            if let [only] = real.as_slice() {
                return Some(only.to_string());
            }
            return None;
        }
        _ => {}
    }
    if node.field("properties").is_some() || node.field("additionalProperties").is_some() {
        Some("object".to_string())
    } else if node.field("items").is_some() || node.field("prefixItems").is_some() {
        Some("array".to_string())
    } else {
        None
    }
}

/// The last token of a reference's pointer (the component's name).
fn component_name(identity: &str) -> String {
    let fragment = identity.split_once('#').map_or("", |(_, f)| f);
    pointer::parse_fragment(fragment)
        .and_then(|tokens| tokens.last().cloned())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| {
            identity
                .split('#')
                .next()
                .and_then(|doc| doc.rsplit('/').next())
                .map(|f| f.split('.').next().unwrap_or(f).to_string())
                .unwrap_or_default()
        })
}

/// Whether a normalised node has subschemas (that a depth cut would drop).
fn has_subschemas(map: &Map<String, Value>) -> bool {
    map.iter().any(|(key, value)| match key.as_str() {
        "properties" | "patternProperties" | "dependentSchemas" => {
            value.as_object().is_some_and(|m| !m.is_empty())
        }
        "allOf" | "anyOf" | "oneOf" | "prefixItems" => true,
        k => SCHEMA_ONE.contains(&k) || k == "items",
    })
}

/// How deep a built schema nests, `level` being its root's level. `allOf`
/// branches that did not merge count as a level, like every other subschema.
fn nesting(schema: &Value, level: usize) -> usize {
    let Value::Object(map) = schema else {
        return level;
    };
    let mut deepest = level;
    for (key, value) in map {
        let key = key.as_str();
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Object(m) if SCHEMA_MAPS.contains(&key) => Box::new(m.values()),
            Value::Array(items) if SCHEMA_LISTS.contains(&key) => Box::new(items.iter()),
            v if SCHEMA_ONE.contains(&key) || key == "items" => Box::new(std::iter::once(v)),
            _ => continue,
        };
        for child in children {
            deepest = deepest.max(nesting(child, level + 1));
        }
    }
    deepest
}

/// The key of a build in [`Schemas::built`]: everything the build depends on but
/// the byte limit. `None` for a root too large to be worth a key.
fn cache_key(root: &Value, purpose: Purpose, budget: &SchemaBudget) -> Option<String> {
    if approx_len(root) > MAX_CACHED_ROOT {
        return None;
    }
    let SchemaBudget {
        max_depth,
        max_bytes: _,
        max_properties,
        max_enum,
        max_union,
    } = budget;
    let root = serde_json::to_string(root).ok()?;
    Some(format!(
        "{purpose:?} {max_depth} {max_properties} {max_enum} {max_union} {root}"
    ))
}

/// The length of the value's compact JSON, counted without writing it.
fn serialized_len(value: &Value) -> usize {
    crate::json_text::compact_len(value)
}

/// A lower bound of a value's serialised length, cheap to compute.
fn approx_len(value: &Value) -> usize {
    match value {
        Value::Null => 4,
        Value::Bool(_) => 4,
        Value::Number(_) => 1,
        Value::String(s) => s.len() + 2,
        Value::Array(items) => 2 + items.iter().map(approx_len).sum::<usize>(),
        Value::Object(map) => {
            2 + map
                .iter()
                .map(|(k, v)| k.len() + 3 + approx_len(v))
                .sum::<usize>()
        }
    }
}

/// Removes `names` from `required`, and `required` itself when it ends up empty.
fn drop_required(out: &mut Map<String, Value>, names: &[String]) {
    if let Some(Value::Array(required)) = out.get_mut("required") {
        required.retain(|r| !r.as_str().is_some_and(|r| names.iter().any(|d| d == r)));
        if required.is_empty() {
            out.remove("required");
        }
    }
}

fn append_description(out: &mut Map<String, Value>, note: &str) {
    let text = match out.field("description").and_then(Value::as_str) {
        Some(existing) if !existing.trim().is_empty() => format!("{} {note}", existing.trim_end()),
        _ => note.to_string(),
    };
    out.insert("description".to_string(), Value::String(text));
}

/// What an `enum` too long to list becomes: its first values in the description.
fn enum_note(values: &[Value]) -> String {
    let shown: Vec<String> = values
        .iter()
        .take(10)
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    format!(
        "One of {} values, such as {}, … (not listed: {})",
        values.len(),
        shown.join(", "),
        CutReason::EnumLimit.as_str()
    )
}

/// Annotation keywords: they describe, never constrain.
const ANNOTATIONS: &[&str] = &[
    "description",
    "title",
    "deprecated",
    "readOnly",
    "writeOnly",
    "default",
    "examples",
];

/// Merges what an `allOf` holds into the node where that changes nothing a
/// validator would decide: empty branches go, annotation-only branches lend their
/// annotations (the node's own win), and a branch whose keywords do not clash
/// with the node's joins it. Branches that cannot merge stay in a smaller `allOf`.
fn merge_all_of(out: &mut Map<String, Value>) {
    let Some(Value::Array(branches)) = out.remove("allOf") else {
        return;
    };
    let mut rest = Vec::new();
    for branch in branches {
        match branch {
            Value::Bool(true) => {}
            Value::Object(map) if map.keys().all(|k| ANNOTATIONS.contains(&k.as_str())) => {
                for (key, value) in map {
                    out.entry(key).or_insert(value);
                }
            }
            other => rest.push(other),
        }
    }
    let mut unmerged = Vec::new();
    for branch in rest {
        match branch {
            Value::Object(map) if can_merge(out, &map) => merge_into(out, map),
            other => unmerged.push(other),
        }
    }
    if !unmerged.is_empty() {
        out.insert("allOf".to_string(), Value::Array(unmerged));
    }
}

/// Whether `branch` may join `node` without changing what validates.
fn can_merge(node: &Map<String, Value>, branch: &Map<String, Value>) -> bool {
    const OPEN: [&str; 3] = [
        "additionalProperties",
        "unevaluatedProperties",
        "patternProperties",
    ];
    let adds_properties = branch.field("properties").is_some();
    let node_closes = OPEN.iter().any(|k| node.contains_key(*k));
    let branch_closes = OPEN.iter().any(|k| branch.contains_key(*k));
    if (adds_properties && node_closes)
        || (branch_closes && node.field("properties").is_some())
        || branch.contains_key("allOf")
    {
        return false;
    }
    branch.iter().all(|(key, value)| {
        let key = key.as_str();
        if ANNOTATIONS.contains(&key) || key == "required" {
            return true;
        }
        match (key, node.get(key)) {
            (_, None) => true,
            ("properties", Some(Value::Object(existing))) => match value {
                Value::Object(added) => added
                    .iter()
                    .all(|(name, schema)| existing.get(name).is_none_or(|e| e == schema)),
                _ => false,
            },
            (_, Some(existing)) => existing == value,
        }
    })
}

fn merge_into(node: &mut Map<String, Value>, branch: Map<String, Value>) {
    for (key, value) in branch {
        match (key.as_str(), node.get_mut(&key), value) {
            ("properties", Some(Value::Object(existing)), Value::Object(added)) => {
                for (name, schema) in added {
                    existing.entry(name).or_insert(schema);
                }
            }
            ("required", Some(Value::Array(existing)), Value::Array(added)) => {
                for name in added {
                    if !existing.contains(&name) {
                        existing.push(name);
                    }
                }
            }
            (_, Some(_), _) => {}
            (_, None, value) => {
                node.insert(key, value);
            }
        }
    }
}

/// Keywords whose value is a map of name → schema.
pub(crate) const SCHEMA_MAPS: &[&str] = &["properties", "patternProperties", "dependentSchemas"];
/// Keywords whose value is one schema (`items` aside: older drafts allow a list).
pub(crate) const SCHEMA_ONE: &[&str] = &[
    "additionalProperties",
    "unevaluatedProperties",
    "not",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "unevaluatedItems",
    "contentSchema",
];
/// Keywords whose value is a list of schemas.
pub(crate) const SCHEMA_LISTS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];

/// The JSON Schema 2020-12 keywords kept besides the subschema ones above; the
/// rest (OpenAPI's own, extensions, unknown words) mean nothing to a model.
const KEYWORDS: &[&str] = &[
    "type",
    "enum",
    "const",
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "maxContains",
    "minContains",
    "maxProperties",
    "minProperties",
    "dependentRequired",
    "format",
    "contentEncoding",
    "contentMediaType",
    "title",
    "description",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "examples",
];

/// The JSON types JSON Schema names.
const TYPES: [&str; 7] = [
    "null", "boolean", "object", "array", "number", "string", "integer",
];

/// `value` as the 2020-12 meta-schema accepts it for `key`, or `None` when it
/// cannot be. Small repairs are made where the intent is plain (a list of types
/// with repeats, `required` names that are not strings).
fn valid_value(key: &str, value: &Value) -> Option<Value> {
    let non_negative_integer = |v: &Value| {
        v.as_u64().is_some() || v.as_f64().is_some_and(|f| f >= 0.0 && f.fract() == 0.0)
    };
    let ok = match key {
        "type" => {
            return match value {
                Value::String(t) if TYPES.contains(&t.as_str()) => Some(value.clone()),
                Value::Array(types) => {
                    let mut seen: Vec<Value> = Vec::new();
                    for t in types {
                        if t.as_str().is_some_and(|t| TYPES.contains(&t)) && !seen.contains(t) {
                            seen.push(t.clone());
                        }
                    }
                    (!seen.is_empty()).then_some(Value::Array(seen))
                }
                _ => None,
            };
        }
        "enum" | "examples" => value.is_array(),
        "multipleOf" => value.as_f64().is_some_and(|f| f > 0.0),
        "maximum" | "exclusiveMaximum" | "minimum" | "exclusiveMinimum" => value.is_number(),
        "maxLength" | "minLength" | "maxItems" | "minItems" | "maxContains" | "minContains"
        | "maxProperties" | "minProperties" => non_negative_integer(value),
        "uniqueItems" | "deprecated" | "readOnly" | "writeOnly" => value.is_boolean(),
        "pattern" | "format" | "title" | "description" | "contentEncoding" | "contentMediaType" => {
            value.is_string()
        }
        "dependentRequired" => {
            return value.as_object().map(|entries| {
                Value::Object(
                    entries
                        .iter()
                        .filter(|(_, v)| v.is_array())
                        .map(|(k, v)| (k.clone(), string_set(v)))
                        .collect(),
                )
            });
        }
        _ => true,
    };
    ok.then(|| value.clone())
}

/// The strings of a list, each once, in order.
fn string_set(value: &Value) -> Value {
    let mut out: Vec<Value> = Vec::new();
    for item in value.as_array().into_iter().flatten() {
        if item.is_string() && !out.contains(item) {
            out.push(item.clone());
        }
    }
    Value::Array(out)
}

/// A value, shortened for a message.
fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        let cut: String = text.chars().take(40).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// A JSON Schema inferred from an example value, for bodies that give only an
/// example. Build it like any other schema so it, too, keeps to the budget.
pub fn infer_from_example(example: &Value) -> Value {
    match example {
        Value::Null => json!({}),
        Value::Bool(_) => json!({"type": "boolean"}),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({"type": "integer"}),
        Value::Number(_) => json!({"type": "number"}),
        Value::String(_) => json!({"type": "string"}),
        Value::Array(items) => match items.first() {
            Some(first) => json!({"type": "array", "items": infer_from_example(first)}),
            None => json!({"type": "array"}),
        },
        Value::Object(map) => {
            let properties: Map<String, Value> = map
                .iter()
                .map(|(k, v)| (k.clone(), infer_from_example(v)))
                .collect();
            json!({"type": "object", "properties": properties})
        }
    }
}

/// Adds `null` to a `nullable: true` schema's type (and enum); a schema with
/// constraints but no type becomes `anyOf: [schema, {type: null}]`.
fn make_nullable(mut out: Map<String, Value>) -> Value {
    if let Some(Value::Array(values)) = out.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
    if !out.contains_key("type") {
        // Without constraints a schema already accepts null.
        return if out.keys().all(|k| ANNOTATIONS.contains(&k.as_str())) {
            Value::Object(out)
        } else {
            json!({"anyOf": [Value::Object(out), {"type": "null"}]})
        };
    }
    match out.get_mut("type") {
        Some(Value::String(t)) if t != "null" => {
            let t = std::mem::take(t);
            out.insert("type".to_string(), json!([t, "null"]));
        }
        Some(Value::Array(types)) if !types.iter().any(|t| t == "null") => {
            types.push(json!("null"));
        }
        _ => {}
    }
    Value::Object(out)
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// What the cuts of one root left out, one sentence per reason, naming at most
/// five places each (JSON pointers into the built schema).
pub fn describe_cuts(cuts: &[Cut]) -> Vec<String> {
    let mut by_reason: std::collections::BTreeMap<CutReason, Vec<String>> = Default::default();
    for cut in cuts {
        let at = if cut.at.is_empty() {
            "the root"
        } else {
            cut.at.as_str()
        };
        let place = match &cut.component {
            Some(name) => format!("{at} ({name})"),
            None => at.to_string(),
        };
        let places = by_reason.entry(cut.reason).or_default();
        if !places.contains(&place) {
            places.push(place);
        }
    }
    by_reason
        .into_iter()
        .map(|(reason, places)| {
            let shown = places
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            let more = match places.len() {
                n if n > 5 => format!(" and {} more", n - 5),
                _ => String::new(),
            };
            let what = match places.len() {
                1 => "1 part".to_string(),
                n => format!("{n} parts"),
            };
            format!("{what} not expanded ({}): {shown}{more}", reason.as_str())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Document;

    fn spec(version: &str, components: Value) -> Spec {
        let root = Url::parse("file:///api/root.yaml").unwrap();
        let doc = json!({"openapi": version, "components": {"schemas": components}});
        Spec::new(
            root.clone(),
            [(root, Document::Loaded(doc))].into_iter().collect(),
            None,
        )
        .unwrap()
    }

    fn build_with(spec: &Spec, name: &str, purpose: Purpose, budget: &SchemaBudget) -> Built {
        let r = json!({"$ref": format!("#/components/schemas/{name}")});
        Schemas::new(spec)
            .build(spec.root_url(), &r, purpose, budget, budget.max_bytes)
            .unwrap()
    }

    fn build_ref(spec: &Spec, name: &str, purpose: Purpose) -> Value {
        Arc::unwrap_or_clone(build_with(spec, name, purpose, &SchemaBudget::default()).schema)
    }

    #[test]
    fn equal_parameter_schemas_are_one_tree_and_small_ones_are_left_alone() {
        let s = spec("3.0.3", json!({}));
        let schemas = Schemas::new(&s);
        let select = || {
            Arc::new(
                json!({"type": "array", "items": {"type": "string", "enum": [
                    "id", "displayName", "mail", "userPrincipalName", "createdDateTime"
                ]}}),
            )
        };
        let first = schemas.share_parameter(select());
        let again = schemas.share_parameter(select());
        assert!(
            Arc::ptr_eq(&first, &again),
            "an equal schema is the tree kept before"
        );
        let mut other = select();
        Arc::make_mut(&mut other)["items"]["enum"][0] = json!("surname");
        let kept_other = schemas.share_parameter(other.clone());
        assert!(
            !Arc::ptr_eq(&first, &kept_other),
            "a different schema is its own tree"
        );
        assert_eq!(*kept_other, *other);
        assert!(Arc::ptr_eq(&kept_other, &schemas.share_parameter(other)));
        let small = || Arc::new(json!({"type": "string"}));
        assert!(!Arc::ptr_eq(
            &schemas.share_parameter(small()),
            &schemas.share_parameter(small())
        ));
    }

    /// Every node of a built schema, for checks that must hold everywhere.
    fn all_keys(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    out.push(k.clone());
                    all_keys(v, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| all_keys(v, out)),
            _ => {}
        }
    }

    #[test]
    fn self_recursion_is_cut_with_its_type_and_a_reason() {
        let s = spec(
            "3.0.3",
            json!({"Tree": {"type": "object", "description": "A tree", "properties": {
                "name": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}}}}}),
        );
        let built = build_with(&s, "Tree", Purpose::RequestBody, &SchemaBudget::default());
        assert_eq!(
            built.schema["properties"]["children"]["items"],
            json!({"type": "object", "description": "A tree (not expanded: recursive)"})
        );
        assert_eq!(
            built.cuts,
            vec![Cut {
                reason: CutReason::Recursive,
                at: "/properties/children/items".into(),
                component: Some("Tree".into())
            }]
        );
        let mut keys = Vec::new();
        all_keys(&built.schema, &mut keys);
        assert!(
            !keys.iter().any(|k| k == "$ref" || k == "$defs"),
            "{keys:?}"
        );
    }

    #[test]
    fn mutual_recursion_is_finite_and_ref_free() {
        let s = spec(
            "3.0.3",
            json!({
                "Person": {"type": "object", "properties": {"employer": {"$ref": "#/components/schemas/Company"}}},
                "Company": {"type": "object", "properties": {"ceo": {"$ref": "#/components/schemas/Person"}}}
            }),
        );
        let out = build_ref(&s, "Person", Purpose::RequestBody);
        assert_eq!(
            out["properties"]["employer"]["properties"]["ceo"],
            json!({"type": "object", "description": "Person (not expanded: recursive)"})
        );
    }

    #[test]
    fn depth_is_bounded_and_the_cut_says_so() {
        // A chain eleven objects deep.
        let mut components = Map::new();
        for i in 0..12 {
            let next = if i == 11 {
                json!({"type": "string"})
            } else {
                json!({"$ref": format!("#/components/schemas/L{}", i + 1)})
            };
            components.insert(
                format!("L{i}"),
                json!({"type": "object", "properties": {"next": next}}),
            );
        }
        let s = spec("3.0.3", Value::Object(components));
        let built = build_with(&s, "L0", Purpose::RequestBody, &SchemaBudget::default());
        assert_eq!(nesting(&built.schema, 2), SchemaBudget::MAX_DEPTH);
        // L0 is level 2, so L8 is level 10: the last, which keeps no subschemas.
        let cut = built.schema.pointer(&"/properties/next".repeat(8)).unwrap();
        assert_eq!(
            cut,
            &json!({"type": "object", "description": "L8 (not expanded: depth limit)"})
        );
        assert_eq!(built.cuts.len(), 1);
        assert_eq!(built.cuts[0].reason, CutReason::DepthLimit);
    }

    #[test]
    fn required_properties_are_kept_before_optional_ones() {
        let mut properties = Map::new();
        for i in 0..10 {
            properties.insert(format!("p{i}"), json!({"type": "integer"}));
        }
        let s = spec(
            "3.1.0",
            json!({"Wide": {"type": "object", "required": ["p8", "p9"], "properties": properties}}),
        );
        let budget = SchemaBudget {
            max_properties: 4,
            ..SchemaBudget::default()
        };
        let built = build_with(&s, "Wide", Purpose::Parameter, &budget);
        let kept: Vec<&String> = built.schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(kept, ["p0", "p1", "p8", "p9"]);
        assert_eq!(built.schema["required"], json!(["p8", "p9"]));
        assert_eq!(
            built.schema["description"],
            json!("(6 more properties not listed: property limit)")
        );
    }

    #[test]
    fn long_enums_and_wide_unions_are_collapsed_by_rule() {
        let values: Vec<Value> = (0..300).map(|i| json!(format!("v{i}"))).collect();
        let branches: Vec<Value> = (0..20)
            .map(|i| json!({"type": "object", "title": format!("B{i}"), "properties": {"x": {"type": "string"}}}))
            .collect();
        let s = spec(
            "3.0.3",
            json!({"E": {"type": "object", "properties": {
                "code": {"type": "string", "enum": values},
                "shape": {"oneOf": branches}
            }}}),
        );
        let built = build_with(&s, "E", Purpose::Parameter, &SchemaBudget::default());
        let code = &built.schema["properties"]["code"];
        assert!(code.field("enum").is_none());
        assert_eq!(code["type"], "string");
        assert!(
            code["description"]
                .as_str()
                .unwrap()
                .starts_with("One of 300 values, such as v0, v1,")
        );
        let shape = &built.schema["properties"]["shape"];
        assert_eq!(shape["type"], "object");
        assert!(shape.field("oneOf").is_none());
        assert!(
            shape["description"]
                .as_str()
                .unwrap()
                .starts_with("One of: B0, B1,"),
            "{shape}"
        );
        let reasons: Vec<CutReason> = built.cuts.iter().map(|c| c.reason).collect();
        assert_eq!(reasons, [CutReason::EnumLimit, CutReason::UnionLimit]);
    }

    /// `Big`: `n` properties, each a `Leaf` of `n` described string fields.
    fn groups_of_fields(n: usize) -> Spec {
        let mut leaf = Map::new();
        for i in 0..n {
            leaf.insert(
                format!("field_{i}"),
                json!({"type": "string", "description": "A field that is described at some length here"}),
            );
        }
        let mut root = Map::new();
        for i in 0..n {
            root.insert(
                format!("group_{i}"),
                json!({"$ref": "#/components/schemas/Leaf"}),
            );
        }
        spec(
            "3.0.3",
            json!({"Leaf": {"type": "object", "properties": leaf},
                   "Big": {"type": "object", "properties": root}}),
        )
    }

    #[test]
    fn a_body_over_the_byte_budget_loses_depth_until_it_fits() {
        // Forty objects of forty described properties: about 100 KB inlined.
        let s = groups_of_fields(40);
        let built = build_with(&s, "Big", Purpose::RequestBody, &SchemaBudget::default());
        assert!(serialized_len(&built.schema) <= SchemaBudget::MAX_BYTES);
        assert_eq!(
            built.schema["properties"]["group_0"],
            json!({"type": "object", "description": "Leaf (not expanded: size limit)"})
        );
        assert!(built.cuts.iter().all(|c| c.reason == CutReason::SizeLimit));
        assert_eq!(built.cuts.len(), 40);
    }

    #[test]
    fn a_shared_body_is_the_same_whatever_limit_and_order_it_is_built_in() {
        // Ten objects of ten described properties: about 6 KB inlined.
        let s = groups_of_fields(10);
        fn build<'s>(schemas: &Schemas<'s>, s: &'s Spec, limit: usize) -> (Value, Vec<Cut>) {
            let r = json!({"$ref": "#/components/schemas/Big"});
            let built = schemas
                .build(
                    s.root_url(),
                    &r,
                    Purpose::RequestBody,
                    &SchemaBudget::default(),
                    limit,
                )
                .unwrap();
            (Arc::unwrap_or_clone(built.schema), built.cuts)
        }
        let fresh = |limit: usize| build(&Schemas::new(&s), &s, limit);
        let (whole, whole_cuts) = fresh(16_000);
        let (cut, cut_cuts) = fresh(2_000);
        assert!(whole_cuts.is_empty() && !cut_cuts.is_empty());
        assert!(serialized_len(&cut) <= 2_000 && serialized_len(&whole) > 2_000);

        // One `Schemas` for a whole spec: each build is what a fresh one gives,
        // never an earlier build made under another limit.
        let shared = Schemas::new(&s);
        assert_eq!(
            build(&shared, &s, 16_000),
            (whole.clone(), whole_cuts.clone())
        );
        assert_eq!(build(&shared, &s, 2_000), (cut.clone(), cut_cuts.clone()));
        assert_eq!(
            build(&shared, &s, 15_000),
            (whole.clone(), whole_cuts.clone())
        );
        let shared = Schemas::new(&s);
        assert_eq!(build(&shared, &s, 2_000), (cut.clone(), cut_cuts.clone()));
        assert_eq!(build(&shared, &s, 16_000), (whole, whole_cuts));
        assert_eq!(build(&shared, &s, 1_900), fresh(1_900));
    }

    #[test]
    fn trivial_all_of_wrappers_merge_and_real_ones_stay() {
        let s = spec(
            "3.0.3",
            json!({
                "Base": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
                "Wrapped": {"allOf": [{"$ref": "#/components/schemas/Base"}, {}]},
                "Described": {"allOf": [{"$ref": "#/components/schemas/Base"}, {"description": "The thing"}]},
                "Extended": {"allOf": [{"$ref": "#/components/schemas/Base"},
                    {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}]},
                "Clash": {"allOf": [{"$ref": "#/components/schemas/Base"},
                    {"properties": {"id": {"type": "integer"}}}]}
            }),
        );
        let base =
            json!({"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}});
        assert_eq!(build_ref(&s, "Wrapped", Purpose::Parameter), base);
        let described = build_ref(&s, "Described", Purpose::Parameter);
        assert_eq!(described["description"], "The thing");
        assert!(described.field("allOf").is_none());
        assert_eq!(
            build_ref(&s, "Extended", Purpose::Parameter),
            json!({"type": "object", "required": ["id", "n"],
                   "properties": {"id": {"type": "string"}, "n": {"type": "integer"}}})
        );
        let clash = build_ref(&s, "Clash", Purpose::Parameter);
        assert_eq!(
            clash["allOf"],
            json!([{"properties": {"id": {"type": "integer"}}}])
        );
    }

    #[test]
    fn draft_04_keywords_are_normalised_in_a_31_spec() {
        let s = spec(
            "3.1.0",
            json!({"Old": {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
                "properties": {
                    "n": {"type": "number", "maximum": 10, "exclusiveMaximum": true},
                    "t": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]},
                    "x": {"type": "string", "nullable": true, "minLength": "3"}
                },
                "dependencies": {"a": ["b"], "c": {"required": ["d"]}},
                "definitions": {"unused": {}}}}),
        );
        let built = build_with(&s, "Old", Purpose::Parameter, &SchemaBudget::default());
        let out = &built.schema;
        assert_eq!(
            out["properties"]["n"],
            json!({"type": "number", "exclusiveMaximum": 10})
        );
        assert_eq!(
            out["properties"]["t"],
            json!({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]})
        );
        assert_eq!(out["properties"]["x"], json!({"type": ["string", "null"]}));
        assert_eq!(out["dependentRequired"], json!({"a": ["b"]}));
        assert_eq!(out["dependentSchemas"], json!({"c": {"required": ["d"]}}));
        assert!(out.field("$schema").is_none() && out.field("definitions").is_none());
        assert!(
            built
                .warnings
                .iter()
                .any(|w| w.contains("`minLength: \"3\"`")),
            "{:?}",
            built.warnings
        );
    }

    #[test]
    fn oas30_is_normalised() {
        let s = spec(
            "3.0.3",
            json!({"N": {"type": "object", "required": ["id", "n"], "properties": {
                "id": {"type": "string", "readOnly": true},
                "n": {"type": "integer", "nullable": true, "minimum": 0, "exclusiveMinimum": true, "example": 3},
                "e": {"type": "string", "enum": ["a"], "nullable": true},
                "any": {"nullable": true, "allOf": [{"type": "string"}]},
                "x": {"type": "string", "x-internal": true, "xml": {"name": "x"}}
            }}}),
        );
        let out = build_ref(&s, "N", Purpose::RequestBody);
        assert_eq!(out["required"], json!(["n"]));
        assert!(out["properties"].field("id").is_none());
        assert_eq!(
            out["properties"]["n"],
            json!({"type": ["integer", "null"], "exclusiveMinimum": 0, "examples": [3]})
        );
        assert_eq!(out["properties"]["e"]["enum"], json!(["a", null]));
        assert_eq!(
            out["properties"]["any"],
            json!({"anyOf": [{"type": "string"}, {"type": "null"}]})
        );
        assert_eq!(out["properties"]["x"], json!({"type": "string"}));
        let as_param = build_ref(&s, "N", Purpose::Parameter);
        assert!(as_param["properties"].field("id").is_some());
    }

    #[test]
    fn oas31_ref_siblings_apply() {
        let s = spec(
            "3.1.0",
            json!({"S": {"type": "string"}, "T": {"$ref": "#/components/schemas/S", "description": "why", "maxLength": 3}}),
        );
        let out = build_ref(&s, "T", Purpose::Parameter);
        assert_eq!(
            out,
            json!({"maxLength": 3, "type": "string", "description": "why"})
        );
    }

    #[test]
    fn a_broken_ref_fails_the_schema() {
        let s = spec(
            "3.0.3",
            json!({"A": {"properties": {"b": {"$ref": "#/components/schemas/Nope"}}}}),
        );
        let r = json!({"$ref": "#/components/schemas/A"});
        assert!(
            Schemas::new(&s)
                .build(
                    s.root_url(),
                    &r,
                    Purpose::RequestBody,
                    &SchemaBudget::default(),
                    16384
                )
                .is_err()
        );
    }

    #[test]
    fn a_component_is_normalised_once_for_every_build() {
        let s = spec("3.0.3", json!({"Bad": {"type": "string", "minLength": -1}}));
        let schemas = Schemas::new(&s);
        let r = json!({"$ref": "#/components/schemas/Bad"});
        let budget = SchemaBudget::default();
        let first = schemas
            .build(s.root_url(), &r, Purpose::Parameter, &budget, 16384)
            .unwrap();
        let second = schemas
            .build(s.root_url(), &r, Purpose::Parameter, &budget, 16384)
            .unwrap();
        assert_eq!(*first.schema, json!({"type": "string"}));
        assert_eq!(first.schema, second.schema);
        assert_eq!(first.warnings.len(), 1, "{:?}", first.warnings);
        assert!(second.warnings.is_empty(), "said once per spec");
        assert_eq!(schemas.components.borrow().len(), 1);
    }

    #[test]
    fn a_wide_tree_of_empty_schemas_stops_within_the_budget() {
        // Sixteen branches of sixteen branches … nine levels down: 16^9 nodes if
        // walked whole. Each node counts, so the build gives up early and cuts.
        let mut components = Map::new();
        components.insert("W0".into(), json!({}));
        for i in 1..=9 {
            let branch = json!({"$ref": format!("#/components/schemas/W{}", i - 1)});
            components.insert(format!("W{i}"), json!({"anyOf": vec![branch; 16]}));
        }
        components.insert("Wide".into(), json!({"$ref": "#/components/schemas/W9"}));
        let s = spec("3.1.0", Value::Object(components));
        let built = build_with(&s, "Wide", Purpose::Parameter, &SchemaBudget::default());
        assert!(serialized_len(&built.schema) <= SchemaBudget::MAX_BYTES);
        assert!(built.cuts.iter().all(|c| c.reason == CutReason::SizeLimit));
        assert!(!built.cuts.is_empty());
    }

    #[test]
    fn read_only_properties_go_before_the_property_limit_counts() {
        let mut properties = Map::new();
        for i in 0..4 {
            properties.insert(
                format!("server_{i}"),
                json!({"$ref": "#/components/schemas/Id"}),
            );
        }
        properties.insert("name".into(), json!({"type": "string"}));
        properties.insert("note".into(), json!({"type": "string"}));
        let s = spec(
            "3.0.3",
            json!({"Id": {"type": "string", "readOnly": true},
                   "Thing": {"type": "object", "properties": properties}}),
        );
        let budget = SchemaBudget {
            max_properties: 2,
            ..SchemaBudget::default()
        };
        let built = build_with(&s, "Thing", Purpose::RequestBody, &budget);
        let kept: Vec<&String> = built.schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(kept, ["name", "note"]);
        assert!(built.cuts.is_empty(), "{:?}", built.cuts);
    }

    #[test]
    fn budgets_looser_than_the_models_take_are_refused() {
        assert!(SchemaBudget::default().check().is_ok());
        let deep = SchemaBudget {
            max_depth: 11,
            ..SchemaBudget::default()
        };
        assert!(deep.check().unwrap_err().contains("max_depth"));
        let big = SchemaBudget {
            max_bytes: 20_000,
            ..SchemaBudget::default()
        };
        assert!(big.check().unwrap_err().contains("16 KiB"));
    }

    #[test]
    fn infers_from_example() {
        assert_eq!(
            infer_from_example(&json!({"id": 1, "tags": ["a"], "price": 1.5, "ok": true})),
            json!({"type": "object", "properties": {
                "id": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}},
                "price": {"type": "number"}, "ok": {"type": "boolean"}}})
        );
    }
}
