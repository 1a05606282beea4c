//! libFuzzer entry point for [`rcli_fuzz::resp::check`] (the properties are documented there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rcli_fuzz::resp::check(data));
