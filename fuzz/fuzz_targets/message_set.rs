//! One legacy MessageSet v0/v1 entry (offset, size, CRC, magic, ...): checked as the client
//! reads it, then its messages (a compressed one wraps a whole inner message set).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nanokafka::records::LegacyMessage;
use nanokafka_std::compression::Codecs;

fuzz_target!(|entry: &[u8]| {
    let Ok(message) = LegacyMessage::new_checked(entry) else {
        return;
    };
    let _ = (message.compression(), message.is_log_append_time());
    let mut scratch = vec![0u8; 64 << 10];
    if let Ok(messages) = message.messages_with(&Codecs::new(), &mut scratch) {
        for record in messages {
            let Ok(record) = record else { break };
            nanokafka_fuzz::touch(&record);
        }
    }
    if let Ok(messages) = message.messages() {
        for record in messages.flatten() {
            nanokafka_fuzz::touch(&record);
        }
    }
});
