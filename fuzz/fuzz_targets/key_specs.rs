//! libFuzzer entry point for [`rcli_fuzz::keys::check`] (the properties are documented there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rcli_fuzz::keys::check(data));
