//! Broker error codes as Apache Kafka defines them (`org.apache.kafka.common.protocol.Errors`).
//!
//! The table holds every code from -1 to 133: Kafka's `Errors.java` (trunk of October 2024, up to
//! 128) and the codes Kafka 4.0/4.1 added since (129-133, as listed by the `kafka-protocol`
//! crate 0.18 and Kafka's own `Errors.java`). Names and descriptions are Kafka's; a code is
//! retriable exactly when Kafka's exception class for it extends `RetriableException`
//! (directly or, e.g., through `InvalidMetadataException`). Codes newer than the table keep
//! their number and read as `UNKNOWN`, not retriable.
//!
//! `name`, `description` and `is_retriable` are `const fn` matches, so a firmware build links
//! the text tables only if it calls them.

/// A broker error code. Unknown codes are kept as their number; `KafkaCode(0)` is success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct KafkaCode(pub i16);

impl KafkaCode {
    /// The server experienced an unexpected error when processing the request.
    pub const UNKNOWN_SERVER_ERROR: KafkaCode = KafkaCode(-1);
    /// No error.
    pub const NONE: KafkaCode = KafkaCode(0);
    /// The requested offset is not within the range of offsets maintained by the server.
    pub const OFFSET_OUT_OF_RANGE: KafkaCode = KafkaCode(1);
    /// This message has failed its CRC checksum, exceeds the valid size, has a null key for a compacted topic, or is otherwise corrupt.
    pub const CORRUPT_MESSAGE: KafkaCode = KafkaCode(2);
    /// This server does not host this topic-partition.
    pub const UNKNOWN_TOPIC_OR_PARTITION: KafkaCode = KafkaCode(3);
    /// The requested fetch size is invalid.
    pub const INVALID_FETCH_SIZE: KafkaCode = KafkaCode(4);
    /// There is no leader for this topic-partition as we are in the middle of a leadership election.
    pub const LEADER_NOT_AVAILABLE: KafkaCode = KafkaCode(5);
    /// For requests intended only for the leader, this error indicates that the broker is not the current leader. For requests intended for any replica, this error indicates that the broker is not a replica of the topic partition.
    pub const NOT_LEADER_OR_FOLLOWER: KafkaCode = KafkaCode(6);
    /// The request timed out.
    pub const REQUEST_TIMED_OUT: KafkaCode = KafkaCode(7);
    /// The broker is not available.
    pub const BROKER_NOT_AVAILABLE: KafkaCode = KafkaCode(8);
    /// The replica is not available for the requested topic-partition. Produce/Fetch requests and other requests intended only for the leader or follower return NOT_LEADER_OR_FOLLOWER if the broker is not a replica of the topic-partition.
    pub const REPLICA_NOT_AVAILABLE: KafkaCode = KafkaCode(9);
    /// The request included a message larger than the max message size the server will accept.
    pub const MESSAGE_TOO_LARGE: KafkaCode = KafkaCode(10);
    /// The controller moved to another broker.
    pub const STALE_CONTROLLER_EPOCH: KafkaCode = KafkaCode(11);
    /// The metadata field of the offset request was too large.
    pub const OFFSET_METADATA_TOO_LARGE: KafkaCode = KafkaCode(12);
    /// The server disconnected before a response was received.
    pub const NETWORK_EXCEPTION: KafkaCode = KafkaCode(13);
    /// The coordinator is loading and hence can't process requests.
    pub const COORDINATOR_LOAD_IN_PROGRESS: KafkaCode = KafkaCode(14);
    /// The coordinator is not available.
    pub const COORDINATOR_NOT_AVAILABLE: KafkaCode = KafkaCode(15);
    /// This is not the correct coordinator.
    pub const NOT_COORDINATOR: KafkaCode = KafkaCode(16);
    /// The request attempted to perform an operation on an invalid topic.
    pub const INVALID_TOPIC_EXCEPTION: KafkaCode = KafkaCode(17);
    /// The request included message batch larger than the configured segment size on the server.
    pub const RECORD_LIST_TOO_LARGE: KafkaCode = KafkaCode(18);
    /// Messages are rejected since there are fewer in-sync replicas than required.
    pub const NOT_ENOUGH_REPLICAS: KafkaCode = KafkaCode(19);
    /// Messages are written to the log, but to fewer in-sync replicas than required.
    pub const NOT_ENOUGH_REPLICAS_AFTER_APPEND: KafkaCode = KafkaCode(20);
    /// Produce request specified an invalid value for required acks.
    pub const INVALID_REQUIRED_ACKS: KafkaCode = KafkaCode(21);
    /// Specified group generation id is not valid.
    pub const ILLEGAL_GENERATION: KafkaCode = KafkaCode(22);
    /// The group member's supported protocols are incompatible with those of existing members or first group member tried to join with empty protocol type or empty protocol list.
    pub const INCONSISTENT_GROUP_PROTOCOL: KafkaCode = KafkaCode(23);
    /// The configured groupId is invalid.
    pub const INVALID_GROUP_ID: KafkaCode = KafkaCode(24);
    /// The coordinator is not aware of this member.
    pub const UNKNOWN_MEMBER_ID: KafkaCode = KafkaCode(25);
    /// The session timeout is not within the range allowed by the broker (as configured by group.min.session.timeout.ms and group.max.session.timeout.ms).
    pub const INVALID_SESSION_TIMEOUT: KafkaCode = KafkaCode(26);
    /// The group is rebalancing, so a rejoin is needed.
    pub const REBALANCE_IN_PROGRESS: KafkaCode = KafkaCode(27);
    /// The committing offset data size is not valid.
    pub const INVALID_COMMIT_OFFSET_SIZE: KafkaCode = KafkaCode(28);
    /// Topic authorization failed.
    pub const TOPIC_AUTHORIZATION_FAILED: KafkaCode = KafkaCode(29);
    /// Group authorization failed.
    pub const GROUP_AUTHORIZATION_FAILED: KafkaCode = KafkaCode(30);
    /// Cluster authorization failed.
    pub const CLUSTER_AUTHORIZATION_FAILED: KafkaCode = KafkaCode(31);
    /// The timestamp of the message is out of acceptable range.
    pub const INVALID_TIMESTAMP: KafkaCode = KafkaCode(32);
    /// The broker does not support the requested SASL mechanism.
    pub const UNSUPPORTED_SASL_MECHANISM: KafkaCode = KafkaCode(33);
    /// Request is not valid given the current SASL state.
    pub const ILLEGAL_SASL_STATE: KafkaCode = KafkaCode(34);
    /// The version of API is not supported.
    pub const UNSUPPORTED_VERSION: KafkaCode = KafkaCode(35);
    /// Topic with this name already exists.
    pub const TOPIC_ALREADY_EXISTS: KafkaCode = KafkaCode(36);
    /// Number of partitions is below 1.
    pub const INVALID_PARTITIONS: KafkaCode = KafkaCode(37);
    /// Replication factor is below 1 or larger than the number of available brokers.
    pub const INVALID_REPLICATION_FACTOR: KafkaCode = KafkaCode(38);
    /// Replica assignment is invalid.
    pub const INVALID_REPLICA_ASSIGNMENT: KafkaCode = KafkaCode(39);
    /// Configuration is invalid.
    pub const INVALID_CONFIG: KafkaCode = KafkaCode(40);
    /// This is not the correct controller for this cluster.
    pub const NOT_CONTROLLER: KafkaCode = KafkaCode(41);
    /// This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker. See the broker logs for more details.
    pub const INVALID_REQUEST: KafkaCode = KafkaCode(42);
    /// The message format version on the broker does not support the request.
    pub const UNSUPPORTED_FOR_MESSAGE_FORMAT: KafkaCode = KafkaCode(43);
    /// Request parameters do not satisfy the configured policy.
    pub const POLICY_VIOLATION: KafkaCode = KafkaCode(44);
    /// The broker received an out of order sequence number.
    pub const OUT_OF_ORDER_SEQUENCE_NUMBER: KafkaCode = KafkaCode(45);
    /// The broker received a duplicate sequence number.
    pub const DUPLICATE_SEQUENCE_NUMBER: KafkaCode = KafkaCode(46);
    /// Producer attempted to produce with an old epoch.
    pub const INVALID_PRODUCER_EPOCH: KafkaCode = KafkaCode(47);
    /// The producer attempted a transactional operation in an invalid state.
    pub const INVALID_TXN_STATE: KafkaCode = KafkaCode(48);
    /// The producer attempted to use a producer id which is not currently assigned to its transactional id.
    pub const INVALID_PRODUCER_ID_MAPPING: KafkaCode = KafkaCode(49);
    /// The transaction timeout is larger than the maximum value allowed by the broker (as configured by transaction.max.timeout.ms).
    pub const INVALID_TRANSACTION_TIMEOUT: KafkaCode = KafkaCode(50);
    /// The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing.
    pub const CONCURRENT_TRANSACTIONS: KafkaCode = KafkaCode(51);
    /// Indicates that the transaction coordinator sending a WriteTxnMarker is no longer the current coordinator for a given producer.
    pub const TRANSACTION_COORDINATOR_FENCED: KafkaCode = KafkaCode(52);
    /// Transactional Id authorization failed.
    pub const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: KafkaCode = KafkaCode(53);
    /// Security features are disabled.
    pub const SECURITY_DISABLED: KafkaCode = KafkaCode(54);
    /// The broker did not attempt to execute this operation. This may happen for batched RPCs where some operations in the batch failed, causing the broker to respond without trying the rest.
    pub const OPERATION_NOT_ATTEMPTED: KafkaCode = KafkaCode(55);
    /// Disk error when trying to access log file on the disk.
    pub const KAFKA_STORAGE_ERROR: KafkaCode = KafkaCode(56);
    /// The user-specified log directory is not found in the broker config.
    pub const LOG_DIR_NOT_FOUND: KafkaCode = KafkaCode(57);
    /// SASL Authentication failed.
    pub const SASL_AUTHENTICATION_FAILED: KafkaCode = KafkaCode(58);
    /// This exception is raised by the broker if it could not locate the producer metadata associated with the producerId in question. This could happen if, for instance, the producer's records were deleted because their retention time had elapsed. Once the last records of the producerId are removed, the producer's metadata is removed from the broker, and future appends by the producer will return this exception.
    pub const UNKNOWN_PRODUCER_ID: KafkaCode = KafkaCode(59);
    /// A partition reassignment is in progress.
    pub const REASSIGNMENT_IN_PROGRESS: KafkaCode = KafkaCode(60);
    /// Delegation Token feature is not enabled.
    pub const DELEGATION_TOKEN_AUTH_DISABLED: KafkaCode = KafkaCode(61);
    /// Delegation Token is not found on server.
    pub const DELEGATION_TOKEN_NOT_FOUND: KafkaCode = KafkaCode(62);
    /// Specified Principal is not valid Owner/Renewer.
    pub const DELEGATION_TOKEN_OWNER_MISMATCH: KafkaCode = KafkaCode(63);
    /// Delegation Token requests are not allowed on PLAINTEXT/1-way SSL channels and on delegation token authenticated channels.
    pub const DELEGATION_TOKEN_REQUEST_NOT_ALLOWED: KafkaCode = KafkaCode(64);
    /// Delegation Token authorization failed.
    pub const DELEGATION_TOKEN_AUTHORIZATION_FAILED: KafkaCode = KafkaCode(65);
    /// Delegation Token is expired.
    pub const DELEGATION_TOKEN_EXPIRED: KafkaCode = KafkaCode(66);
    /// Supplied principalType is not supported.
    pub const INVALID_PRINCIPAL_TYPE: KafkaCode = KafkaCode(67);
    /// The group is not empty.
    pub const NON_EMPTY_GROUP: KafkaCode = KafkaCode(68);
    /// The group id does not exist.
    pub const GROUP_ID_NOT_FOUND: KafkaCode = KafkaCode(69);
    /// The fetch session ID was not found.
    pub const FETCH_SESSION_ID_NOT_FOUND: KafkaCode = KafkaCode(70);
    /// The fetch session epoch is invalid.
    pub const INVALID_FETCH_SESSION_EPOCH: KafkaCode = KafkaCode(71);
    /// There is no listener on the leader broker that matches the listener on which metadata request was processed.
    pub const LISTENER_NOT_FOUND: KafkaCode = KafkaCode(72);
    /// Topic deletion is disabled.
    pub const TOPIC_DELETION_DISABLED: KafkaCode = KafkaCode(73);
    /// The leader epoch in the request is older than the epoch on the broker.
    pub const FENCED_LEADER_EPOCH: KafkaCode = KafkaCode(74);
    /// The leader epoch in the request is newer than the epoch on the broker.
    pub const UNKNOWN_LEADER_EPOCH: KafkaCode = KafkaCode(75);
    /// The requesting client does not support the compression type of given partition.
    pub const UNSUPPORTED_COMPRESSION_TYPE: KafkaCode = KafkaCode(76);
    /// Broker epoch has changed.
    pub const STALE_BROKER_EPOCH: KafkaCode = KafkaCode(77);
    /// The leader high watermark has not caught up from a recent leader election so the offsets cannot be guaranteed to be monotonically increasing.
    pub const OFFSET_NOT_AVAILABLE: KafkaCode = KafkaCode(78);
    /// The group member needs to have a valid member id before actually entering a consumer group.
    pub const MEMBER_ID_REQUIRED: KafkaCode = KafkaCode(79);
    /// The preferred leader was not available.
    pub const PREFERRED_LEADER_NOT_AVAILABLE: KafkaCode = KafkaCode(80);
    /// The consumer group has reached its max size.
    pub const GROUP_MAX_SIZE_REACHED: KafkaCode = KafkaCode(81);
    /// The broker rejected this static consumer since another consumer with the same group.instance.id has registered with a different member.id.
    pub const FENCED_INSTANCE_ID: KafkaCode = KafkaCode(82);
    /// Eligible topic partition leaders are not available.
    pub const ELIGIBLE_LEADERS_NOT_AVAILABLE: KafkaCode = KafkaCode(83);
    /// Leader election not needed for topic partition.
    pub const ELECTION_NOT_NEEDED: KafkaCode = KafkaCode(84);
    /// No partition reassignment is in progress.
    pub const NO_REASSIGNMENT_IN_PROGRESS: KafkaCode = KafkaCode(85);
    /// Deleting offsets of a topic is forbidden while the consumer group is actively subscribed to it.
    pub const GROUP_SUBSCRIBED_TO_TOPIC: KafkaCode = KafkaCode(86);
    /// This record has failed the validation on broker and hence will be rejected.
    pub const INVALID_RECORD: KafkaCode = KafkaCode(87);
    /// There are unstable offsets that need to be cleared.
    pub const UNSTABLE_OFFSET_COMMIT: KafkaCode = KafkaCode(88);
    /// The throttling quota has been exceeded.
    pub const THROTTLING_QUOTA_EXCEEDED: KafkaCode = KafkaCode(89);
    /// There is a newer producer with the same transactionalId which fences the current one.
    pub const PRODUCER_FENCED: KafkaCode = KafkaCode(90);
    /// A request illegally referred to a resource that does not exist.
    pub const RESOURCE_NOT_FOUND: KafkaCode = KafkaCode(91);
    /// A request illegally referred to the same resource twice.
    pub const DUPLICATE_RESOURCE: KafkaCode = KafkaCode(92);
    /// Requested credential would not meet criteria for acceptability.
    pub const UNACCEPTABLE_CREDENTIAL: KafkaCode = KafkaCode(93);
    /// Indicates that the either the sender or recipient of a voter-only request is not one of the expected voters.
    pub const INCONSISTENT_VOTER_SET: KafkaCode = KafkaCode(94);
    /// The given update version was invalid.
    pub const INVALID_UPDATE_VERSION: KafkaCode = KafkaCode(95);
    /// Unable to update finalized features due to an unexpected server error.
    pub const FEATURE_UPDATE_FAILED: KafkaCode = KafkaCode(96);
    /// Request principal deserialization failed during forwarding. This indicates an internal error on the broker cluster security setup.
    pub const PRINCIPAL_DESERIALIZATION_FAILURE: KafkaCode = KafkaCode(97);
    /// Requested snapshot was not found.
    pub const SNAPSHOT_NOT_FOUND: KafkaCode = KafkaCode(98);
    /// Requested position is not greater than or equal to zero, and less than the size of the snapshot.
    pub const POSITION_OUT_OF_RANGE: KafkaCode = KafkaCode(99);
    /// This server does not host this topic ID.
    pub const UNKNOWN_TOPIC_ID: KafkaCode = KafkaCode(100);
    /// This broker ID is already in use.
    pub const DUPLICATE_BROKER_REGISTRATION: KafkaCode = KafkaCode(101);
    /// The given broker ID was not registered.
    pub const BROKER_ID_NOT_REGISTERED: KafkaCode = KafkaCode(102);
    /// The log's topic ID did not match the topic ID in the request.
    pub const INCONSISTENT_TOPIC_ID: KafkaCode = KafkaCode(103);
    /// The clusterId in the request does not match that found on the server.
    pub const INCONSISTENT_CLUSTER_ID: KafkaCode = KafkaCode(104);
    /// The transactionalId could not be found.
    pub const TRANSACTIONAL_ID_NOT_FOUND: KafkaCode = KafkaCode(105);
    /// The fetch session encountered inconsistent topic ID usage.
    pub const FETCH_SESSION_TOPIC_ID_ERROR: KafkaCode = KafkaCode(106);
    /// The new ISR contains at least one ineligible replica.
    pub const INELIGIBLE_REPLICA: KafkaCode = KafkaCode(107);
    /// The AlterPartition request successfully updated the partition state but the leader has changed.
    pub const NEW_LEADER_ELECTED: KafkaCode = KafkaCode(108);
    /// The requested offset is moved to tiered storage.
    pub const OFFSET_MOVED_TO_TIERED_STORAGE: KafkaCode = KafkaCode(109);
    /// The member epoch is fenced by the group coordinator. The member must abandon all its partitions and rejoin.
    pub const FENCED_MEMBER_EPOCH: KafkaCode = KafkaCode(110);
    /// The instance ID is still used by another member in the consumer group. That member must leave first.
    pub const UNRELEASED_INSTANCE_ID: KafkaCode = KafkaCode(111);
    /// The assignor or its version range is not supported by the consumer group.
    pub const UNSUPPORTED_ASSIGNOR: KafkaCode = KafkaCode(112);
    /// The member epoch is stale. The member must retry after receiving its updated member epoch via the ConsumerGroupHeartbeat API.
    pub const STALE_MEMBER_EPOCH: KafkaCode = KafkaCode(113);
    /// The request was sent to an endpoint of the wrong type.
    pub const MISMATCHED_ENDPOINT_TYPE: KafkaCode = KafkaCode(114);
    /// This endpoint type is not supported yet.
    pub const UNSUPPORTED_ENDPOINT_TYPE: KafkaCode = KafkaCode(115);
    /// This controller ID is not known.
    pub const UNKNOWN_CONTROLLER_ID: KafkaCode = KafkaCode(116);
    /// Client sent a push telemetry request with an invalid or outdated subscription ID.
    pub const UNKNOWN_SUBSCRIPTION_ID: KafkaCode = KafkaCode(117);
    /// Client sent a push telemetry request larger than the maximum size the broker will accept.
    pub const TELEMETRY_TOO_LARGE: KafkaCode = KafkaCode(118);
    /// The controller has considered the broker registration to be invalid.
    pub const INVALID_REGISTRATION: KafkaCode = KafkaCode(119);
    /// The server encountered an error with the transaction. The client can abort the transaction to continue using this transactional ID.
    pub const TRANSACTION_ABORTABLE: KafkaCode = KafkaCode(120);
    /// The record state is invalid. The acknowledgement of delivery could not be completed.
    pub const INVALID_RECORD_STATE: KafkaCode = KafkaCode(121);
    /// The share session was not found.
    pub const SHARE_SESSION_NOT_FOUND: KafkaCode = KafkaCode(122);
    /// The share session epoch is invalid.
    pub const INVALID_SHARE_SESSION_EPOCH: KafkaCode = KafkaCode(123);
    /// The share coordinator rejected the request because the share-group state epoch did not match.
    pub const FENCED_STATE_EPOCH: KafkaCode = KafkaCode(124);
    /// The voter key doesn't match the receiving replica's key.
    pub const INVALID_VOTER_KEY: KafkaCode = KafkaCode(125);
    /// The voter is already part of the set of voters.
    pub const DUPLICATE_VOTER: KafkaCode = KafkaCode(126);
    /// The voter is not part of the set of voters.
    pub const VOTER_NOT_FOUND: KafkaCode = KafkaCode(127);
    /// The regular expression is not valid.
    pub const INVALID_REGULAR_EXPRESSION: KafkaCode = KafkaCode(128);
    /// Client metadata is stale. The client should rebootstrap to obtain new metadata.
    pub const REBOOTSTRAP_REQUIRED: KafkaCode = KafkaCode(129);
    /// The supplied topology is invalid.
    pub const STREAMS_INVALID_TOPOLOGY: KafkaCode = KafkaCode(130);
    /// The supplied topology epoch is invalid.
    pub const STREAMS_INVALID_TOPOLOGY_EPOCH: KafkaCode = KafkaCode(131);
    /// The supplied topology epoch is outdated.
    pub const STREAMS_TOPOLOGY_FENCED: KafkaCode = KafkaCode(132);
    /// The limit of share sessions has been reached.
    pub const SHARE_SESSION_LIMIT_REACHED: KafkaCode = KafkaCode(133);

    /// The highest code this table knows.
    pub const MAX_KNOWN: i16 = 133;

    /// Whether this code means success.
    pub const fn is_ok(self) -> bool {
        self.0 == 0
    }

    /// `Ok(())` for [`KafkaCode::NONE`], otherwise an [`crate::Error::Broker`] naming `api`.
    pub const fn check(self, api: crate::ApiKey) -> crate::Result<()> {
        self.check_partition(api, None)
    }

    /// Like [`KafkaCode::check`] for a partition's error code, naming the partition too.
    pub const fn check_partition(
        self,
        api: crate::ApiKey,
        partition: Option<i32>,
    ) -> crate::Result<()> {
        if self.is_ok() {
            Ok(())
        } else {
            Err(crate::Error::Broker {
                api,
                code: self,
                partition,
            })
        }
    }

    /// Whether the code is in this table (`name()` is not `UNKNOWN`).
    pub const fn is_known(self) -> bool {
        self.0 >= -1 && self.0 <= Self::MAX_KNOWN
    }

    /// Kafka's name for the code, e.g. `NOT_LEADER_OR_FOLLOWER`; `UNKNOWN` for codes newer
    /// than this table.
    pub const fn name(self) -> &'static str {
        match self.0 {
            -1 => "UNKNOWN_SERVER_ERROR",
            0 => "NONE",
            1 => "OFFSET_OUT_OF_RANGE",
            2 => "CORRUPT_MESSAGE",
            3 => "UNKNOWN_TOPIC_OR_PARTITION",
            4 => "INVALID_FETCH_SIZE",
            5 => "LEADER_NOT_AVAILABLE",
            6 => "NOT_LEADER_OR_FOLLOWER",
            7 => "REQUEST_TIMED_OUT",
            8 => "BROKER_NOT_AVAILABLE",
            9 => "REPLICA_NOT_AVAILABLE",
            10 => "MESSAGE_TOO_LARGE",
            11 => "STALE_CONTROLLER_EPOCH",
            12 => "OFFSET_METADATA_TOO_LARGE",
            13 => "NETWORK_EXCEPTION",
            14 => "COORDINATOR_LOAD_IN_PROGRESS",
            15 => "COORDINATOR_NOT_AVAILABLE",
            16 => "NOT_COORDINATOR",
            17 => "INVALID_TOPIC_EXCEPTION",
            18 => "RECORD_LIST_TOO_LARGE",
            19 => "NOT_ENOUGH_REPLICAS",
            20 => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
            21 => "INVALID_REQUIRED_ACKS",
            22 => "ILLEGAL_GENERATION",
            23 => "INCONSISTENT_GROUP_PROTOCOL",
            24 => "INVALID_GROUP_ID",
            25 => "UNKNOWN_MEMBER_ID",
            26 => "INVALID_SESSION_TIMEOUT",
            27 => "REBALANCE_IN_PROGRESS",
            28 => "INVALID_COMMIT_OFFSET_SIZE",
            29 => "TOPIC_AUTHORIZATION_FAILED",
            30 => "GROUP_AUTHORIZATION_FAILED",
            31 => "CLUSTER_AUTHORIZATION_FAILED",
            32 => "INVALID_TIMESTAMP",
            33 => "UNSUPPORTED_SASL_MECHANISM",
            34 => "ILLEGAL_SASL_STATE",
            35 => "UNSUPPORTED_VERSION",
            36 => "TOPIC_ALREADY_EXISTS",
            37 => "INVALID_PARTITIONS",
            38 => "INVALID_REPLICATION_FACTOR",
            39 => "INVALID_REPLICA_ASSIGNMENT",
            40 => "INVALID_CONFIG",
            41 => "NOT_CONTROLLER",
            42 => "INVALID_REQUEST",
            43 => "UNSUPPORTED_FOR_MESSAGE_FORMAT",
            44 => "POLICY_VIOLATION",
            45 => "OUT_OF_ORDER_SEQUENCE_NUMBER",
            46 => "DUPLICATE_SEQUENCE_NUMBER",
            47 => "INVALID_PRODUCER_EPOCH",
            48 => "INVALID_TXN_STATE",
            49 => "INVALID_PRODUCER_ID_MAPPING",
            50 => "INVALID_TRANSACTION_TIMEOUT",
            51 => "CONCURRENT_TRANSACTIONS",
            52 => "TRANSACTION_COORDINATOR_FENCED",
            53 => "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
            54 => "SECURITY_DISABLED",
            55 => "OPERATION_NOT_ATTEMPTED",
            56 => "KAFKA_STORAGE_ERROR",
            57 => "LOG_DIR_NOT_FOUND",
            58 => "SASL_AUTHENTICATION_FAILED",
            59 => "UNKNOWN_PRODUCER_ID",
            60 => "REASSIGNMENT_IN_PROGRESS",
            61 => "DELEGATION_TOKEN_AUTH_DISABLED",
            62 => "DELEGATION_TOKEN_NOT_FOUND",
            63 => "DELEGATION_TOKEN_OWNER_MISMATCH",
            64 => "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED",
            65 => "DELEGATION_TOKEN_AUTHORIZATION_FAILED",
            66 => "DELEGATION_TOKEN_EXPIRED",
            67 => "INVALID_PRINCIPAL_TYPE",
            68 => "NON_EMPTY_GROUP",
            69 => "GROUP_ID_NOT_FOUND",
            70 => "FETCH_SESSION_ID_NOT_FOUND",
            71 => "INVALID_FETCH_SESSION_EPOCH",
            72 => "LISTENER_NOT_FOUND",
            73 => "TOPIC_DELETION_DISABLED",
            74 => "FENCED_LEADER_EPOCH",
            75 => "UNKNOWN_LEADER_EPOCH",
            76 => "UNSUPPORTED_COMPRESSION_TYPE",
            77 => "STALE_BROKER_EPOCH",
            78 => "OFFSET_NOT_AVAILABLE",
            79 => "MEMBER_ID_REQUIRED",
            80 => "PREFERRED_LEADER_NOT_AVAILABLE",
            81 => "GROUP_MAX_SIZE_REACHED",
            82 => "FENCED_INSTANCE_ID",
            83 => "ELIGIBLE_LEADERS_NOT_AVAILABLE",
            84 => "ELECTION_NOT_NEEDED",
            85 => "NO_REASSIGNMENT_IN_PROGRESS",
            86 => "GROUP_SUBSCRIBED_TO_TOPIC",
            87 => "INVALID_RECORD",
            88 => "UNSTABLE_OFFSET_COMMIT",
            89 => "THROTTLING_QUOTA_EXCEEDED",
            90 => "PRODUCER_FENCED",
            91 => "RESOURCE_NOT_FOUND",
            92 => "DUPLICATE_RESOURCE",
            93 => "UNACCEPTABLE_CREDENTIAL",
            94 => "INCONSISTENT_VOTER_SET",
            95 => "INVALID_UPDATE_VERSION",
            96 => "FEATURE_UPDATE_FAILED",
            97 => "PRINCIPAL_DESERIALIZATION_FAILURE",
            98 => "SNAPSHOT_NOT_FOUND",
            99 => "POSITION_OUT_OF_RANGE",
            100 => "UNKNOWN_TOPIC_ID",
            101 => "DUPLICATE_BROKER_REGISTRATION",
            102 => "BROKER_ID_NOT_REGISTERED",
            103 => "INCONSISTENT_TOPIC_ID",
            104 => "INCONSISTENT_CLUSTER_ID",
            105 => "TRANSACTIONAL_ID_NOT_FOUND",
            106 => "FETCH_SESSION_TOPIC_ID_ERROR",
            107 => "INELIGIBLE_REPLICA",
            108 => "NEW_LEADER_ELECTED",
            109 => "OFFSET_MOVED_TO_TIERED_STORAGE",
            110 => "FENCED_MEMBER_EPOCH",
            111 => "UNRELEASED_INSTANCE_ID",
            112 => "UNSUPPORTED_ASSIGNOR",
            113 => "STALE_MEMBER_EPOCH",
            114 => "MISMATCHED_ENDPOINT_TYPE",
            115 => "UNSUPPORTED_ENDPOINT_TYPE",
            116 => "UNKNOWN_CONTROLLER_ID",
            117 => "UNKNOWN_SUBSCRIPTION_ID",
            118 => "TELEMETRY_TOO_LARGE",
            119 => "INVALID_REGISTRATION",
            120 => "TRANSACTION_ABORTABLE",
            121 => "INVALID_RECORD_STATE",
            122 => "SHARE_SESSION_NOT_FOUND",
            123 => "INVALID_SHARE_SESSION_EPOCH",
            124 => "FENCED_STATE_EPOCH",
            125 => "INVALID_VOTER_KEY",
            126 => "DUPLICATE_VOTER",
            127 => "VOTER_NOT_FOUND",
            128 => "INVALID_REGULAR_EXPRESSION",
            129 => "REBOOTSTRAP_REQUIRED",
            130 => "STREAMS_INVALID_TOPOLOGY",
            131 => "STREAMS_INVALID_TOPOLOGY_EPOCH",
            132 => "STREAMS_TOPOLOGY_FENCED",
            133 => "SHARE_SESSION_LIMIT_REACHED",
            _ => "UNKNOWN",
        }
    }

    /// Kafka's description of the code.
    pub const fn description(self) -> &'static str {
        match self.0 {
            -1 => "The server experienced an unexpected error when processing the request.",
            0 => "No error.",
            1 => "The requested offset is not within the range of offsets maintained by the server.",
            2 => "This message has failed its CRC checksum, exceeds the valid size, has a null key for a compacted topic, or is otherwise corrupt.",
            3 => "This server does not host this topic-partition.",
            4 => "The requested fetch size is invalid.",
            5 => "There is no leader for this topic-partition as we are in the middle of a leadership election.",
            6 => "For requests intended only for the leader, this error indicates that the broker is not the current leader. For requests intended for any replica, this error indicates that the broker is not a replica of the topic partition.",
            7 => "The request timed out.",
            8 => "The broker is not available.",
            9 => "The replica is not available for the requested topic-partition. Produce/Fetch requests and other requests intended only for the leader or follower return NOT_LEADER_OR_FOLLOWER if the broker is not a replica of the topic-partition.",
            10 => "The request included a message larger than the max message size the server will accept.",
            11 => "The controller moved to another broker.",
            12 => "The metadata field of the offset request was too large.",
            13 => "The server disconnected before a response was received.",
            14 => "The coordinator is loading and hence can't process requests.",
            15 => "The coordinator is not available.",
            16 => "This is not the correct coordinator.",
            17 => "The request attempted to perform an operation on an invalid topic.",
            18 => "The request included message batch larger than the configured segment size on the server.",
            19 => "Messages are rejected since there are fewer in-sync replicas than required.",
            20 => "Messages are written to the log, but to fewer in-sync replicas than required.",
            21 => "Produce request specified an invalid value for required acks.",
            22 => "Specified group generation id is not valid.",
            23 => "The group member's supported protocols are incompatible with those of existing members or first group member tried to join with empty protocol type or empty protocol list.",
            24 => "The configured groupId is invalid.",
            25 => "The coordinator is not aware of this member.",
            26 => "The session timeout is not within the range allowed by the broker (as configured by group.min.session.timeout.ms and group.max.session.timeout.ms).",
            27 => "The group is rebalancing, so a rejoin is needed.",
            28 => "The committing offset data size is not valid.",
            29 => "Topic authorization failed.",
            30 => "Group authorization failed.",
            31 => "Cluster authorization failed.",
            32 => "The timestamp of the message is out of acceptable range.",
            33 => "The broker does not support the requested SASL mechanism.",
            34 => "Request is not valid given the current SASL state.",
            35 => "The version of API is not supported.",
            36 => "Topic with this name already exists.",
            37 => "Number of partitions is below 1.",
            38 => "Replication factor is below 1 or larger than the number of available brokers.",
            39 => "Replica assignment is invalid.",
            40 => "Configuration is invalid.",
            41 => "This is not the correct controller for this cluster.",
            42 => "This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker. See the broker logs for more details.",
            43 => "The message format version on the broker does not support the request.",
            44 => "Request parameters do not satisfy the configured policy.",
            45 => "The broker received an out of order sequence number.",
            46 => "The broker received a duplicate sequence number.",
            47 => "Producer attempted to produce with an old epoch.",
            48 => "The producer attempted a transactional operation in an invalid state.",
            49 => "The producer attempted to use a producer id which is not currently assigned to its transactional id.",
            50 => "The transaction timeout is larger than the maximum value allowed by the broker (as configured by transaction.max.timeout.ms).",
            51 => "The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing.",
            52 => "Indicates that the transaction coordinator sending a WriteTxnMarker is no longer the current coordinator for a given producer.",
            53 => "Transactional Id authorization failed.",
            54 => "Security features are disabled.",
            55 => "The broker did not attempt to execute this operation. This may happen for batched RPCs where some operations in the batch failed, causing the broker to respond without trying the rest.",
            56 => "Disk error when trying to access log file on the disk.",
            57 => "The user-specified log directory is not found in the broker config.",
            58 => "SASL Authentication failed.",
            59 => "This exception is raised by the broker if it could not locate the producer metadata associated with the producerId in question. This could happen if, for instance, the producer's records were deleted because their retention time had elapsed. Once the last records of the producerId are removed, the producer's metadata is removed from the broker, and future appends by the producer will return this exception.",
            60 => "A partition reassignment is in progress.",
            61 => "Delegation Token feature is not enabled.",
            62 => "Delegation Token is not found on server.",
            63 => "Specified Principal is not valid Owner/Renewer.",
            64 => "Delegation Token requests are not allowed on PLAINTEXT/1-way SSL channels and on delegation token authenticated channels.",
            65 => "Delegation Token authorization failed.",
            66 => "Delegation Token is expired.",
            67 => "Supplied principalType is not supported.",
            68 => "The group is not empty.",
            69 => "The group id does not exist.",
            70 => "The fetch session ID was not found.",
            71 => "The fetch session epoch is invalid.",
            72 => "There is no listener on the leader broker that matches the listener on which metadata request was processed.",
            73 => "Topic deletion is disabled.",
            74 => "The leader epoch in the request is older than the epoch on the broker.",
            75 => "The leader epoch in the request is newer than the epoch on the broker.",
            76 => "The requesting client does not support the compression type of given partition.",
            77 => "Broker epoch has changed.",
            78 => "The leader high watermark has not caught up from a recent leader election so the offsets cannot be guaranteed to be monotonically increasing.",
            79 => "The group member needs to have a valid member id before actually entering a consumer group.",
            80 => "The preferred leader was not available.",
            81 => "The consumer group has reached its max size.",
            82 => "The broker rejected this static consumer since another consumer with the same group.instance.id has registered with a different member.id.",
            83 => "Eligible topic partition leaders are not available.",
            84 => "Leader election not needed for topic partition.",
            85 => "No partition reassignment is in progress.",
            86 => "Deleting offsets of a topic is forbidden while the consumer group is actively subscribed to it.",
            87 => "This record has failed the validation on broker and hence will be rejected.",
            88 => "There are unstable offsets that need to be cleared.",
            89 => "The throttling quota has been exceeded.",
            90 => "There is a newer producer with the same transactionalId which fences the current one.",
            91 => "A request illegally referred to a resource that does not exist.",
            92 => "A request illegally referred to the same resource twice.",
            93 => "Requested credential would not meet criteria for acceptability.",
            94 => "Indicates that the either the sender or recipient of a voter-only request is not one of the expected voters.",
            95 => "The given update version was invalid.",
            96 => "Unable to update finalized features due to an unexpected server error.",
            97 => "Request principal deserialization failed during forwarding. This indicates an internal error on the broker cluster security setup.",
            98 => "Requested snapshot was not found.",
            99 => "Requested position is not greater than or equal to zero, and less than the size of the snapshot.",
            100 => "This server does not host this topic ID.",
            101 => "This broker ID is already in use.",
            102 => "The given broker ID was not registered.",
            103 => "The log's topic ID did not match the topic ID in the request.",
            104 => "The clusterId in the request does not match that found on the server.",
            105 => "The transactionalId could not be found.",
            106 => "The fetch session encountered inconsistent topic ID usage.",
            107 => "The new ISR contains at least one ineligible replica.",
            108 => "The AlterPartition request successfully updated the partition state but the leader has changed.",
            109 => "The requested offset is moved to tiered storage.",
            110 => "The member epoch is fenced by the group coordinator. The member must abandon all its partitions and rejoin.",
            111 => "The instance ID is still used by another member in the consumer group. That member must leave first.",
            112 => "The assignor or its version range is not supported by the consumer group.",
            113 => "The member epoch is stale. The member must retry after receiving its updated member epoch via the ConsumerGroupHeartbeat API.",
            114 => "The request was sent to an endpoint of the wrong type.",
            115 => "This endpoint type is not supported yet.",
            116 => "This controller ID is not known.",
            117 => "Client sent a push telemetry request with an invalid or outdated subscription ID.",
            118 => "Client sent a push telemetry request larger than the maximum size the broker will accept.",
            119 => "The controller has considered the broker registration to be invalid.",
            120 => "The server encountered an error with the transaction. The client can abort the transaction to continue using this transactional ID.",
            121 => "The record state is invalid. The acknowledgement of delivery could not be completed.",
            122 => "The share session was not found.",
            123 => "The share session epoch is invalid.",
            124 => "The share coordinator rejected the request because the share-group state epoch did not match.",
            125 => "The voter key doesn't match the receiving replica's key.",
            126 => "The voter is already part of the set of voters.",
            127 => "The voter is not part of the set of voters.",
            128 => "The regular expression is not valid.",
            129 => "Client metadata is stale. The client should rebootstrap to obtain new metadata.",
            130 => "The supplied topology is invalid.",
            131 => "The supplied topology epoch is invalid.",
            132 => "The supplied topology epoch is outdated.",
            133 => "The limit of share sessions has been reached.",
            _ => "Unknown error code.",
        }
    }

    /// Whether Kafka marks the error retriable (its exception extends `RetriableException`).
    pub const fn is_retriable(self) -> bool {
        matches!(
            self.0,
            2 | 3
                | 5
                | 6
                | 7
                | 9
                | 13
                | 14
                | 15
                | 16
                | 19
                | 20
                | 41
                | 51
                | 56
                | 70
                | 71
                | 72
                | 74
                | 75
                | 78
                | 80
                | 83
                | 84
                | 88
                | 89
                | 100
                | 103
                | 106
                | 122
                | 123
                | 133
        )
    }
}

impl core::fmt::Display for KafkaCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} ({}): {}", self.name(), self.0, self.description())
    }
}

#[cfg(test)]
mod tests {
    use super::KafkaCode;

    #[test]
    fn known_codes_match_kafka() {
        // (code, Kafka's name, retriable) from Errors.java and the exception classes.
        let cases: &[(i16, &str, bool)] = &[
            (-1, "UNKNOWN_SERVER_ERROR", false),
            (0, "NONE", false),
            (1, "OFFSET_OUT_OF_RANGE", false),
            (2, "CORRUPT_MESSAGE", true),
            (3, "UNKNOWN_TOPIC_OR_PARTITION", true),
            (6, "NOT_LEADER_OR_FOLLOWER", true),
            (10, "MESSAGE_TOO_LARGE", false),
            (14, "COORDINATOR_LOAD_IN_PROGRESS", true),
            (16, "NOT_COORDINATOR", true),
            (25, "UNKNOWN_MEMBER_ID", false),
            (27, "REBALANCE_IN_PROGRESS", false),
            (29, "TOPIC_AUTHORIZATION_FAILED", false),
            (35, "UNSUPPORTED_VERSION", false),
            (51, "CONCURRENT_TRANSACTIONS", true),
            (58, "SASL_AUTHENTICATION_FAILED", false),
            (74, "FENCED_LEADER_EPOCH", true),
            (88, "UNSTABLE_OFFSET_COMMIT", true),
            (100, "UNKNOWN_TOPIC_ID", true),
            (128, "INVALID_REGULAR_EXPRESSION", false),
            (133, "SHARE_SESSION_LIMIT_REACHED", true),
        ];
        for &(code, name, retriable) in cases {
            let k = KafkaCode(code);
            assert_eq!(k.name(), name, "code {code}");
            assert_eq!(k.is_retriable(), retriable, "code {code} ({name})");
            assert!(k.is_known());
        }
        assert_eq!(KafkaCode::NOT_LEADER_OR_FOLLOWER, KafkaCode(6));
        assert_eq!(
            KafkaCode::UNKNOWN_TOPIC_OR_PARTITION.description(),
            "This server does not host this topic-partition."
        );
    }

    #[test]
    fn every_code_up_to_the_newest_is_named() {
        let mut names: heapless::Vec<&str, 256> = heapless::Vec::new();
        for code in -1..=KafkaCode::MAX_KNOWN {
            let k = KafkaCode(code);
            assert_ne!(k.name(), "UNKNOWN", "code {code}");
            assert_ne!(k.description(), "Unknown error code.", "code {code}");
            names.push(k.name()).unwrap();
        }
        names.sort_unstable();
        let duplicate = names.windows(2).find(|pair| pair[0] == pair[1]);
        assert_eq!(duplicate, None, "duplicate names");
    }

    #[test]
    fn unknown_codes_keep_their_number() {
        for code in [-2, KafkaCode::MAX_KNOWN + 1, i16::MAX, i16::MIN] {
            let k = KafkaCode(code);
            assert_eq!(k.0, code);
            assert_eq!(k.name(), "UNKNOWN");
            assert!(!k.is_retriable());
            assert!(!k.is_known());
            assert!(!k.is_ok());
        }
        let text = crate::display(KafkaCode(-2));
        assert_eq!(text, "UNKNOWN (-2): Unknown error code.");
    }
}
