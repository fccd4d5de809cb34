//! Two OpenAPI documents built from the input (`actionsync_fuzz::doc`), written
//! as JSON or YAML and read as `convert` reads them, so the fuzzer reaches
//! conversion and planning deeply; then a catalogue's life: the first applied,
//! edited by hand, the second planned over it and applied, the first again.
#![no_main]

use actionsync_fuzz::{Flags, Name, doc, evolve, load_and_convert};
use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    // The token counter's tables are built once per process, on first use
    // (seconds in this instrumented build): built here, so that first input is
    // not reported slow for it.
    init: {
        actionsync::tools::count_tokens("warm up");
    },
    |data: &[u8]| {
        let mut u = Unstructured::new(data);
        let Ok(first) = doc::document(&mut u) else {
            return;
        };
        let second = doc::document(&mut u).ok();
        let (Ok(name), Ok(flags)) = (u.arbitrary::<u8>(), u.arbitrary::<u8>()) else {
            return;
        };
        let name = Name::from_byte(name);
        let flags = Flags::from_byte(flags);
        let text = |value: &serde_json::Value| match name {
            Name::Yaml => serde_yaml::to_string(value).ok().map(String::into_bytes),
            _ => serde_json::to_vec_pretty(value).ok(),
        };
        let Some(first) = text(&first).and_then(|b| load_and_convert(name, flags, &b)) else {
            return;
        };
        let second = second
            .as_ref()
            .and_then(text)
            .and_then(|b| load_and_convert(name, flags, &b));
        let edits: Vec<u8> = u.arbitrary().unwrap_or_default();
        evolve(&first, second.as_ref().unwrap_or(&first), &edits);
    }
);
