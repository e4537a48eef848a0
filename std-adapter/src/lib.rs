//! std adapter for nanokafka.
