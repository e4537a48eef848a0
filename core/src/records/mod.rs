//! Record formats: RecordBatch v2 (build and read) and legacy MessageSet v0/v1 (read).
