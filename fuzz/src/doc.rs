//! OpenAPI documents built from fuzzer bytes, so the fuzzer reaches conversion
//! and planning deeply instead of dying in the parser. Names, paths and
//! operationIds come from small pools, so two documents built from one input
//! share operations (updates, renames, archives and restores when one is
//! planned against the other's catalogue), and schemas reference each other
//! (cycles, missing targets, chains).

use arbitrary::{Result, Unstructured};
use serde_json::{Map, Value, json};

const NAMES: &[&str] = &[
    "id",
    "orderId",
    "name",
    "user-id",
    "X-Api-Key",
    "page",
    "limit",
    "q",
    "$ref",
    "type",
    "properties",
    "a b",
    "ünï",
    "",
    "default",
    "items",
    "Authorization",
    "Content-Type",
];
const SEGMENTS: &[&str] = &[
    "orders",
    "users",
    "{id}",
    "{orderId}",
    "v1",
    "admin",
    "items",
    "{user-id}",
    "a.b",
    "",
    "{}",
    "~1",
    "%20",
    "{id}.json",
];
const OPERATION_IDS: &[&str] = &[
    "getOrder",
    "get_order",
    "listOrders",
    "createOrder",
    "x",
    "Get Order!",
    "",
    "GET /orders",
    "deleteOrder",
    "get-order",
    "ordersGet",
    "a_very_long_operation_id_that_goes_on_and_on_past_the_sixty_four_characters_a_tool_name_may_have",
];
const TAGS: &[&str] = &["internal", "orders", "public", ""];
const TEXTS: &[&str] = &[
    "",
    "Get",
    "Look up one order by its id",
    "Returns {id} or [a list",
    "Line one\n\nLine two with `code` and **bold** and <b>html</b>",
    "ünïcödé 日本語 🚀",
];
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace", "GET", "query",
];
const MEDIA: &[&str] = &[
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "text/plain",
    "application/octet-stream",
    "application/*",
    "*/*",
    "application/vnd.api+json",
    "application/xml",
];
const TYPES: &[&str] = &[
    "string", "integer", "number", "boolean", "null", "array", "object", "file", "any",
];
const FORMATS: &[&str] = &[
    "int32",
    "int64",
    "date-time",
    "uuid",
    "binary",
    "email",
    "uri",
    "weird",
];
const SERVERS: &[&str] = &[
    "https://api.example.com/v1",
    "http://api.example.com",
    "/relative",
    "https://{region}.example.com/{base}",
    "",
    "not a url",
    "https://api.example.com:99999",
    "//example.com/v1",
];
const LOCATIONS: &[&str] = &[
    "path", "query", "header", "cookie", "body", "formData", "weird",
];
const SCHEMA_KEYWORDS: &[&str] = &[
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "default",
    "example",
    "examples",
    "const",
    "readOnly",
    "writeOnly",
    "deprecated",
    "title",
    "description",
    "$schema",
    "$id",
    "$anchor",
    "$defs",
    "definitions",
    "nullable",
    "discriminator",
    "xml",
    "dependencies",
    "dependentRequired",
    "patternProperties",
    "uniqueItems",
    "minItems",
    "maxItems",
    "contentMediaType",
    "x-extension",
];

/// Which OpenAPI dialect to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Swagger 2.0.
    Swagger2,
    /// OpenAPI 3.0.
    OpenApi30,
    /// OpenAPI 3.1.
    OpenApi31,
}

fn pick<'a>(u: &mut Unstructured<'_>, pool: &[&'a str]) -> Result<&'a str> {
    Ok(*u.choose(pool)?)
}

struct Builder {
    dialect: Dialect,
    components: usize,
}

impl Builder {
    fn schema_ref(&self, k: usize) -> Value {
        match self.dialect {
            Dialect::Swagger2 => json!({"$ref": format!("#/definitions/S{k}")}),
            _ => json!({"$ref": format!("#/components/schemas/S{k}")}),
        }
    }

    /// A literal: what `enum`, `default`, `example` and friends hold.
    fn literal(&self, u: &mut Unstructured<'_>, depth: usize) -> Result<Value> {
        Ok(match u.int_in_range(0..=7)? {
            0 => Value::Null,
            1 => Value::Bool(u.arbitrary()?),
            2 => json!(u.arbitrary::<i64>()?),
            3 => {
                let f: f64 = u.arbitrary()?;
                serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
            }
            4 => Value::String(pick(u, TEXTS)?.to_string()),
            5 => Value::String(pick(u, NAMES)?.to_string()),
            6 if depth > 0 => {
                let n = u.int_in_range(0..=3)?;
                Value::Array(
                    (0..n)
                        .map(|_| self.literal(u, depth - 1))
                        .collect::<Result<_>>()?,
                )
            }
            _ if depth > 0 => {
                let mut map = Map::new();
                for _ in 0..u.int_in_range(0..=3)? {
                    map.insert(pick(u, NAMES)?.to_string(), self.literal(u, depth - 1)?);
                }
                Value::Object(map)
            }
            _ => Value::String(String::new()),
        })
    }

    fn schema(&self, u: &mut Unstructured<'_>, depth: usize) -> Result<Value> {
        let top = if depth == 0 { 3 } else { 12 };
        let mut schema = match u.int_in_range(0..=top)? {
            0 => self.schema_ref(u.int_in_range(0..=self.components)?),
            1 => Value::Bool(u.arbitrary()?),
            2 | 3 => {
                let mut map = Map::new();
                if u.arbitrary()? {
                    map.insert("type".into(), json!(pick(u, TYPES)?));
                } else {
                    let n = u.int_in_range(0..=3)?;
                    let types: Vec<Value> = (0..n)
                        .map(|_| pick(u, TYPES).map(|t| json!(t)))
                        .collect::<Result<_>>()?;
                    map.insert("type".into(), Value::Array(types));
                }
                if u.arbitrary()? {
                    map.insert("format".into(), json!(pick(u, FORMATS)?));
                }
                Value::Object(map)
            }
            4 | 5 => {
                let mut props = Map::new();
                for _ in 0..u.int_in_range(0..=4)? {
                    props.insert(pick(u, NAMES)?.to_string(), self.schema(u, depth - 1)?);
                }
                let mut map = Map::new();
                map.insert("type".into(), json!("object"));
                map.insert("properties".into(), Value::Object(props));
                if u.arbitrary()? {
                    let n = u.int_in_range(0..=3)?;
                    let required: Vec<Value> = (0..n)
                        .map(|_| pick(u, NAMES).map(|t| json!(t)))
                        .collect::<Result<_>>()?;
                    map.insert("required".into(), Value::Array(required));
                }
                match u.int_in_range(0..=3)? {
                    0 => {
                        map.insert("additionalProperties".into(), Value::Bool(u.arbitrary()?));
                    }
                    1 => {
                        map.insert("additionalProperties".into(), self.schema(u, depth - 1)?);
                    }
                    _ => {}
                }
                Value::Object(map)
            }
            6 => {
                let items = if u.arbitrary()? {
                    self.schema(u, depth - 1)?
                } else {
                    let n = u.int_in_range(0..=3)?;
                    Value::Array(
                        (0..n)
                            .map(|_| self.schema(u, depth - 1))
                            .collect::<Result<_>>()?,
                    )
                };
                json!({"type": "array", "items": items})
            }
            7..=9 => {
                let key = pick(u, &["oneOf", "anyOf", "allOf", "not", "prefixItems"])?;
                let value = if key == "not" {
                    self.schema(u, depth - 1)?
                } else {
                    let n = u.int_in_range(0..=4)?;
                    Value::Array(
                        (0..n)
                            .map(|_| self.schema(u, depth - 1))
                            .collect::<Result<_>>()?,
                    )
                };
                let mut map = Map::new();
                map.insert(key.into(), value);
                Value::Object(map)
            }
            10 => {
                let n = u.int_in_range(0..=5)?;
                let values: Vec<Value> =
                    (0..n).map(|_| self.literal(u, 1)).collect::<Result<_>>()?;
                json!({"enum": values})
            }
            11 => json!({
                "if": self.schema(u, depth - 1)?,
                "then": self.schema(u, depth - 1)?,
                "else": self.schema(u, depth - 1)?,
            }),
            _ => self.literal(u, 2)?,
        };
        // Keywords beside it, of any value: the normaliser's business.
        if let Value::Object(map) = &mut schema {
            for _ in 0..u.int_in_range(0..=2)? {
                let key = pick(u, SCHEMA_KEYWORDS)?;
                let value = if u.ratio(1, 4)? && depth > 0 {
                    self.schema(u, depth - 1)?
                } else {
                    self.literal(u, 1)?
                };
                map.insert(key.to_string(), value);
            }
            if u.ratio(1, 6)? {
                map.insert("description".into(), json!(pick(u, TEXTS)?));
            }
        }
        Ok(schema)
    }

    fn parameter(&self, u: &mut Unstructured<'_>) -> Result<Value> {
        if u.ratio(1, 6)? {
            let k = u.int_in_range(0..=2)?;
            return Ok(match self.dialect {
                Dialect::Swagger2 => json!({"$ref": format!("#/parameters/P{k}")}),
                _ => json!({"$ref": format!("#/components/parameters/P{k}")}),
            });
        }
        let mut map = Map::new();
        map.insert("name".into(), json!(pick(u, NAMES)?));
        let location = pick(u, LOCATIONS)?;
        map.insert("in".into(), json!(location));
        if u.arbitrary()? {
            map.insert("required".into(), self.literal(u, 0)?);
        }
        if u.arbitrary()? {
            map.insert("description".into(), json!(pick(u, TEXTS)?));
        }
        let depth = u.int_in_range(0..=4)?;
        match (self.dialect, location) {
            (Dialect::Swagger2, "body") => {
                map.insert("schema".into(), self.schema(u, depth)?);
            }
            (Dialect::Swagger2, _) => {
                map.insert("type".into(), json!(pick(u, TYPES)?));
                if u.arbitrary()? {
                    map.insert("items".into(), self.schema(u, depth)?);
                }
            }
            _ if u.ratio(1, 8)? => {
                let mut content = Map::new();
                content.insert(
                    pick(u, MEDIA)?.into(),
                    json!({"schema": self.schema(u, depth)?}),
                );
                map.insert("content".into(), Value::Object(content));
            }
            _ => {
                map.insert("schema".into(), self.schema(u, depth)?);
            }
        }
        if u.ratio(1, 5)? {
            map.insert(
                "style".into(),
                json!(pick(
                    u,
                    &[
                        "form",
                        "simple",
                        "deepObject",
                        "matrix",
                        "label",
                        "spaceDelimited",
                        "bogus"
                    ]
                )?),
            );
            map.insert("explode".into(), self.literal(u, 0)?);
        }
        Ok(Value::Object(map))
    }

    fn operation(&self, u: &mut Unstructured<'_>) -> Result<Value> {
        let mut op = Map::new();
        if u.ratio(3, 4)? {
            op.insert("operationId".into(), json!(pick(u, OPERATION_IDS)?));
        }
        if u.arbitrary()? {
            op.insert("summary".into(), json!(pick(u, TEXTS)?));
        }
        if u.arbitrary()? {
            op.insert("description".into(), json!(pick(u, TEXTS)?));
        }
        if u.arbitrary()? {
            let n = u.int_in_range(0..=2)?;
            let tags: Vec<Value> = (0..n)
                .map(|_| pick(u, TAGS).map(|t| json!(t)))
                .collect::<Result<_>>()?;
            op.insert("tags".into(), Value::Array(tags));
        }
        let n = u.int_in_range(0..=4)?;
        let params: Vec<Value> = (0..n).map(|_| self.parameter(u)).collect::<Result<_>>()?;
        if !params.is_empty() {
            op.insert("parameters".into(), Value::Array(params));
        }
        if self.dialect != Dialect::Swagger2 && u.arbitrary()? {
            let body = if u.ratio(1, 5)? {
                json!({"$ref": format!("#/components/requestBodies/B{}", u.int_in_range(0..=1)?)})
            } else {
                let mut content = Map::new();
                for _ in 0..u.int_in_range(0..=2)? {
                    let depth = u.int_in_range(0..=6)?;
                    content.insert(
                        pick(u, MEDIA)?.into(),
                        json!({"schema": self.schema(u, depth)?}),
                    );
                }
                json!({"content": content, "required": u.arbitrary::<bool>()?})
            };
            op.insert("requestBody".into(), body);
        }
        if self.dialect == Dialect::Swagger2 && u.arbitrary()? {
            op.insert("consumes".into(), json!([pick(u, MEDIA)?]));
        }
        let depth = u.int_in_range(0..=3)?;
        let response = match self.dialect {
            Dialect::Swagger2 => json!({"description": "ok", "schema": self.schema(u, depth)?}),
            _ => {
                json!({"description": "ok", "content": {"application/json": {"schema": self.schema(u, depth)?}}})
            }
        };
        op.insert(
            "responses".into(),
            json!({ pick(u, &["200", "201", "default", "2XX"])?: response }),
        );
        if u.ratio(1, 4)? {
            let scheme = pick(u, &["key", "bearer", "oauth", "basic", "missing"])?;
            op.insert("security".into(), json!([{ scheme: [] }]));
        }
        if u.ratio(1, 8)? {
            op.insert("x-actionsync-ignore".into(), self.literal(u, 0)?);
        }
        if u.ratio(1, 8)? {
            let key = pick(
                u,
                &[
                    "x-open-channels",
                    "x-open-segments",
                    "x-open-magic-fields",
                    "x-open-require-confirmation",
                    "x-open-tags",
                    "x-open-pinned",
                    "x-open-enabled",
                    "x-actionsync-name",
                ],
            )?;
            op.insert(key.into(), self.literal(u, 2)?);
        }
        Ok(Value::Object(op))
    }

    fn path(&self, u: &mut Unstructured<'_>) -> Result<String> {
        let n = u.int_in_range(0..=3)?;
        let mut path = String::new();
        for _ in 0..n {
            path.push('/');
            path.push_str(pick(u, SEGMENTS)?);
        }
        if path.is_empty() || u.ratio(1, 10)? {
            path.push('/');
        }
        Ok(path)
    }
}

/// One document of `dialect`, built from the fuzzer's bytes.
pub fn document(u: &mut Unstructured<'_>) -> Result<Value> {
    let dialect = *u.choose(&[Dialect::Swagger2, Dialect::OpenApi30, Dialect::OpenApi31])?;
    let b = Builder {
        dialect,
        components: u.int_in_range(0..=4)?,
    };
    let mut doc = Map::new();
    match dialect {
        Dialect::Swagger2 => {
            doc.insert("swagger".into(), json!("2.0"));
        }
        Dialect::OpenApi30 => {
            doc.insert("openapi".into(), json!("3.0.3"));
        }
        Dialect::OpenApi31 => {
            doc.insert("openapi".into(), json!("3.1.0"));
        }
    }
    doc.insert(
        "info".into(),
        json!({"title": pick(u, TEXTS)?, "version": "1.0"}),
    );
    match dialect {
        Dialect::Swagger2 => {
            if u.ratio(3, 4)? {
                doc.insert(
                    "host".into(),
                    json!(pick(
                        u,
                        &["api.example.com", "", "a b", "example.com:8443"]
                    )?),
                );
            }
            if u.arbitrary()? {
                doc.insert("basePath".into(), json!(pick(u, &["/v1", "", "v1", "/"])?));
            }
            if u.arbitrary()? {
                doc.insert(
                    "schemes".into(),
                    json!([pick(u, &["https", "http", "ws"])?]),
                );
            }
        }
        _ => {
            if u.ratio(3, 4)? {
                let mut servers = Vec::new();
                for _ in 0..u.int_in_range(1..=2)? {
                    let mut server = json!({"url": pick(u, SERVERS)?});
                    if u.arbitrary()? {
                        server["variables"] = json!({
                            "region": {"default": pick(u, &["eu", "", "a/b"])?},
                            "base": {"default": "v1", "enum": ["v1", "v2"]},
                        });
                    }
                    servers.push(server);
                }
                doc.insert("servers".into(), Value::Array(servers));
            }
        }
    }
    let mut paths = Map::new();
    for _ in 0..u.int_in_range(0..=6)? {
        let path = b.path(u)?;
        let mut item = Map::new();
        if u.ratio(1, 4)? {
            let n = u.int_in_range(1..=2)?;
            let params: Vec<Value> = (0..n).map(|_| b.parameter(u)).collect::<Result<_>>()?;
            item.insert("parameters".into(), Value::Array(params));
        }
        for _ in 0..u.int_in_range(1..=3)? {
            item.insert(pick(u, METHODS)?.into(), b.operation(u)?);
        }
        paths.insert(path, Value::Object(item));
    }
    doc.insert("paths".into(), Value::Object(paths));
    let mut schemas = Map::new();
    for k in 0..b.components {
        let depth = u.int_in_range(0..=5)?;
        schemas.insert(format!("S{k}"), b.schema(u, depth)?);
    }
    let mut parameters = Map::new();
    for k in 0..u.int_in_range(0..=2)? {
        parameters.insert(format!("P{k}"), b.parameter(u)?);
    }
    let schemes = json!({
        "key": {"type": "apiKey", "in": pick(u, &["header", "query", "cookie", "body"])?, "name": pick(u, NAMES)?},
        "bearer": if dialect == Dialect::Swagger2 { json!({"type": "basic"}) } else { json!({"type": "http", "scheme": pick(u, &["bearer", "basic", "digest", ""])?}) },
        "oauth": {"type": "oauth2", "flows": {}},
        "basic": {"type": pick(u, &["basic", "http", "openIdConnect", "mutualTLS", "weird"])?},
    });
    match dialect {
        Dialect::Swagger2 => {
            doc.insert("definitions".into(), Value::Object(schemas));
            doc.insert("parameters".into(), Value::Object(parameters));
            doc.insert("securityDefinitions".into(), schemes);
        }
        _ => {
            let mut bodies = Map::new();
            for k in 0..u.int_in_range(0..=1)? {
                let depth = u.int_in_range(0..=4)?;
                bodies.insert(
                    format!("B{k}"),
                    json!({"content": {pick(u, MEDIA)?: {"schema": b.schema(u, depth)?}}}),
                );
            }
            doc.insert(
                "components".into(),
                json!({
                    "schemas": schemas,
                    "parameters": parameters,
                    "requestBodies": bodies,
                    "securitySchemes": schemes,
                }),
            );
        }
    }
    if u.ratio(1, 3)? {
        doc.insert(
            "security".into(),
            json!([{ pick(u, &["key", "bearer", "oauth", "basic", "missing"])?: [] }]),
        );
    }
    Ok(Value::Object(doc))
}
