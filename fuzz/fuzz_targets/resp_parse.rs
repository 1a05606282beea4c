//! Fuzzes the RESP parser: any bytes must parse, need more, or be an error, never panic;
//! a parsed frame must survive re-encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((frame, used))) = rcli::resp::parse(data) {
        assert!(used <= data.len());
        let mut out = Vec::new();
        rcli::resp::encode_frame(&frame, &mut out);
        let again = rcli::resp::parse(&out).expect("re-encoded frame parses").expect("complete");
        assert_eq!(again.0, frame);
        let mut text = Vec::new();
        rcli::render::tty(&frame, b"", &mut text);
    }
});
