//! Which values a person may pin on a spec-owned field. A pinned value replaces
//! the spec's in everything the AI sees, so the store refuses one that the
//! conversion itself could never have produced, and a conversion flags a stored
//! pin that no longer fits.

use crate::action::MIN_DESCRIPTION;
use crate::convert::naming;

/// Whether `value` may be pinned on the spec-owned `field`: a pinned value replaces
/// the spec's in everything the AI sees, so it must be a valid value of the field.
/// The error says why not.
pub fn check_pin(field: &str, value: &serde_json::Value) -> Result<(), String> {
    use crate::action::{AuthRequirement, Body, Method, Parameter, SPEC_FIELDS, StaticHeader};
    let invalid = |why: &str| Err(format!("cannot pin {field}: {why}"));
    if !SPEC_FIELDS.contains(&field) {
        return invalid(&format!(
            "only these fields can be pinned: {}",
            SPEC_FIELDS.join(", ")
        ));
    }
    let shape = |ok: bool| ok.then_some(()).ok_or(());
    let checked = match field {
        "name" => shape(value.as_str().is_some_and(naming::is_valid_name)),
        "description" => shape(
            value
                .as_str()
                .is_some_and(|d| d.trim().chars().count() >= MIN_DESCRIPTION),
        ),
        "url" => shape(value.as_str().is_some_and(|u| {
            url::Url::parse(u).is_ok_and(|p| p.scheme() == "https" && p.host_str().is_some())
        })),
        "method" => serde_json::from_value::<Method>(value.clone())
            .map(drop)
            .map_err(drop),
        "parameters" => serde_json::from_value::<Vec<Parameter>>(value.clone())
            .map(drop)
            .map_err(drop),
        "headers" => serde_json::from_value::<Vec<StaticHeader>>(value.clone())
            .map(drop)
            .map_err(drop),
        "body" => serde_json::from_value::<Option<Body>>(value.clone())
            .map(drop)
            .map_err(drop),
        "auth" => serde_json::from_value::<Vec<AuthRequirement>>(value.clone())
            .map(drop)
            .map_err(drop),
        _ => Err(()),
    };
    match (checked, field) {
        (Ok(()), _) => Ok(()),
        (Err(()), "name") => invalid("a name is 5 to 64 characters of a-z, 0-9 and _"),
        (Err(()), "description") => invalid("a description has at least 20 characters"),
        (Err(()), "url") => invalid("the URL must be an absolute https:// URL"),
        (Err(()), "method") => invalid("the method is one of GET, POST, PUT, PATCH, DELETE"),
        (Err(()), _) => {
            invalid("the value does not have the field's shape (see `actions show --output json`)")
        }
    }
}
