//! Runnable nanokafka examples; see `examples/`.
