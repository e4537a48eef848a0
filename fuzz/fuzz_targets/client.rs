//! The client over the in-memory transport, with a broker whose every reply is fuzzed:
//! connection setup (ApiVersions), metadata, a produce (idempotent when byte 0 is odd, so
//! InitProducerId too), an offset lookup and a fetch with every record read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nanokafka_fuzz::client::{run, FuzzBroker};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, replies)) = data.split_first() else {
        return;
    };
    run(FuzzBroker::new(replies), mode & 1 == 1);
});
