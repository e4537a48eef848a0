//! Partitioner: Java-compatible murmur2 key hashing.
