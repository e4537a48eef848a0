//! Topic administration with the std [`Client`]: list, delete and grow topics, read and
//! change their configs, describe the cluster.
//!
//! Each call names the topics it failed for, with the broker's error code and message:
//!
//! ```
//! use nanokafka_std::mock::MockCluster;
//! use nanokafka_std::{Client, ConfigChange};
//!
//! let server = MockCluster::default().serve_tcp()?;
//! let mut client = Client::connect(server.bootstrap())?;
//! client.create_topic("telemetry", 1, -1, &[("retention.ms", "60000")])?;
//! client.alter_topic_configs("telemetry", &[ConfigChange::Set("cleanup.policy", "compact")])?;
//! client.create_partitions("telemetry", 4)?;
//! assert_eq!(client.partition_count("telemetry")?, 4);
//! client.delete_topics(&["telemetry"])?;
//! let error = client.delete_topics(&["telemetry"]).unwrap_err();
//! assert!(error.to_string().contains("UNKNOWN_TOPIC_OR_PARTITION"), "{error}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::client::{BrokerInfo, Client, Error, Result};
use nanokafka::protocol::create_partitions::{CreatePartitionsRequest, CreatePartitionsTopic};
use nanokafka::protocol::create_topics::TopicConfig;
use nanokafka::protocol::delete_topics::DeleteTopicsRequest;
use nanokafka::protocol::describe_cluster::DescribeClusterRequest;
use nanokafka::protocol::describe_configs::{
    config_source, resource_type, DescribeConfigsRequest, DescribeConfigsResource,
};
use nanokafka::protocol::incremental_alter_configs::{
    AlterConfigsResource, AlterableConfig, ConfigOperation, IncrementalAlterConfigsRequest,
};
use nanokafka::protocol::Request;
use nanokafka::{ApiKey, KafkaCode};

/// One config of a topic or a broker ([`Client::describe_topic_configs`],
/// [`Client::describe_broker_configs`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    /// The config name, e.g. `retention.ms`.
    pub name: String,
    /// Its value (`None` for a sensitive config).
    pub value: Option<String>,
    /// Where the value comes from: a [`config_source`] id (`DYNAMIC_TOPIC_CONFIG` when set
    /// on the topic, `DYNAMIC_BROKER_CONFIG` when set on the broker).
    pub source: i8,
    /// Whether it cannot be changed.
    pub read_only: bool,
    /// Whether the value is sensitive (and so not returned).
    pub sensitive: bool,
}

impl ConfigEntry {
    /// Whether the value was set on the topic or broker described (not inherited from the
    /// brokers' default, the properties file or Kafka's default).
    pub fn is_override(&self) -> bool {
        [
            config_source::DYNAMIC_TOPIC_CONFIG,
            config_source::DYNAMIC_BROKER_CONFIG,
        ]
        .contains(&self.source)
    }

    /// Kafka's name of [`ConfigEntry::source`], e.g. `DYNAMIC_TOPIC_CONFIG`.
    pub fn source_name(&self) -> &'static str {
        match self.source {
            config_source::DYNAMIC_TOPIC_CONFIG => "DYNAMIC_TOPIC_CONFIG",
            config_source::DYNAMIC_BROKER_CONFIG => "DYNAMIC_BROKER_CONFIG",
            config_source::DYNAMIC_DEFAULT_BROKER_CONFIG => "DYNAMIC_DEFAULT_BROKER_CONFIG",
            config_source::STATIC_BROKER_CONFIG => "STATIC_BROKER_CONFIG",
            config_source::DEFAULT_CONFIG => "DEFAULT_CONFIG",
            _ => "UNKNOWN",
        }
    }
}

/// A resource configs belong to, as DescribeConfigs and IncrementalAlterConfigs name it.
#[derive(Clone, Copy)]
struct ConfigResource<'a> {
    /// A [`resource_type`].
    kind: i8,
    name: &'a str,
}

impl ConfigResource<'_> {
    /// How errors name it: `topic "t"`, `broker 1`.
    fn label(&self) -> String {
        match self.kind {
            resource_type::BROKER => format!("broker {}", self.name),
            _ => format!("topic {:?}", self.name),
        }
    }
}

/// One change of [`Client::alter_topic_configs`] (IncrementalAlterConfigs: the configs not
/// named keep their values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigChange<'a> {
    /// Sets config `.0` to `.1`.
    Set(&'a str, &'a str),
    /// Removes the topic's value of a config: it falls back to the broker's default.
    Delete(&'a str),
    /// Adds `.1` to list config `.0` (e.g. `cleanup.policy`).
    Append(&'a str, &'a str),
    /// Removes `.1` from list config `.0`.
    Subtract(&'a str, &'a str),
}

impl ConfigChange<'_> {
    fn wire(&self) -> AlterableConfig<'_> {
        let (name, operation, value) = match *self {
            ConfigChange::Set(name, value) => (name, ConfigOperation::Set, Some(value)),
            ConfigChange::Delete(name) => (name, ConfigOperation::Delete, None),
            ConfigChange::Append(name, value) => (name, ConfigOperation::Append, Some(value)),
            ConfigChange::Subtract(name, value) => (name, ConfigOperation::Subtract, Some(value)),
        };
        AlterableConfig {
            name,
            operation,
            value,
        }
    }
}

/// The cluster as DescribeCluster reports it ([`Client::describe_cluster`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterDescription {
    /// The cluster id.
    pub cluster_id: String,
    /// The controller's broker id (-1 when unknown; with KRaft, Kafka names a random
    /// broker, as clients send controller requests to any broker).
    pub controller_id: i32,
    /// The brokers.
    pub brokers: Vec<BrokerInfo>,
}

/// The failures of a multi-topic answer: `(what failed, e.g. topic "t", code, broker
/// message)`.
type Failures = Vec<(String, KafkaCode, Option<String>)>;

/// The failed entries of a multi-topic answer, from (name, code, broker message) of each.
fn failures<'a>(
    results: impl Iterator<Item = (Option<&'a str>, KafkaCode, Option<&'a str>)>,
) -> Failures {
    results
        .filter(|(_, code, _)| !code.is_ok())
        .map(|(name, code, message)| {
            let name = format!("topic {:?}", name.unwrap_or("(unnamed)"));
            (name, code, message.map(str::to_owned))
        })
        .collect()
}

/// One error for every failed topic: the first one's code as the kind, each topic with its
/// code and the broker's message in the context. `Ok` when none failed.
fn failed(api: ApiKey, doing: &str, failures: Failures) -> Result<()> {
    let Some((_, first, _)) = failures.first() else {
        return Ok(());
    };
    let kind = nanokafka::Error::Broker {
        api,
        code: *first,
        partition: None,
    };
    // The first failure's code is in the kind (printed after the context); the others'
    // here. A broker message that only repeats the code's description is left out.
    let each: Vec<String> = failures
        .iter()
        .enumerate()
        .map(|(i, (topic, code, message))| {
            let code_name = if i == 0 {
                String::new()
            } else {
                format!(": {}", code.name())
            };
            let said = broker_said(*code, message.as_deref());
            format!("{topic}{code_name}{said}")
        })
        .collect();
    Err(Error::new(kind, format!("{doing} {}", each.join("; "))))
}

/// ` (message)`: what the broker said about `code`, left out when it only repeats the
/// code's name or description.
fn broker_said(code: KafkaCode, message: Option<&str>) -> String {
    match message {
        Some(m) if m != code.name() && m != code.description() => format!(" ({m})"),
        _ => String::new(),
    }
}

impl Client {
    /// Sends an admin request to the controller and decodes the answer with `read`, errors
    /// in `context`.
    fn admin<R: Request, T>(
        &mut self,
        request: &R,
        context: impl Fn() -> String,
        read: impl FnOnce(R::Response<'_>) -> T,
    ) -> Result<T> {
        let (cluster, buf) = self.admin_parts();
        let result = cluster
            .send_to_controller(request, buf)
            .and_then(|received| received.decode::<R>(buf).map(read));
        result.map_err(|e| self.error(e, context()))
    }

    /// How long the brokers may take over an admin change: the request timeout.
    fn request_timeout_ms(&mut self) -> i32 {
        let timeout = self.cluster().config().connection.request_timeout_ms;
        i32::try_from(timeout).unwrap_or(i32::MAX)
    }

    /// Creates `topic` (`partitions` / `replication_factor` -1: broker defaults) with topic
    /// configs such as `("max.message.bytes", "1000")`. A refusal names the topic with the
    /// broker's code and message (e.g. which config value is invalid and why).
    ///
    /// ```
    /// # let server = nanokafka_std::mock::MockCluster::default().serve_tcp()?;
    /// let mut client = nanokafka_std::Client::connect(server.bootstrap())?;
    /// let error = client.create_topic("t", 1, -1, &[("retention.ms", "soon")]).unwrap_err();
    /// assert!(error.to_string().contains("Invalid value soon for configuration retention.ms"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_topic(
        &mut self,
        topic: &str,
        partitions: i32,
        replication_factor: i16,
        configs: &[(&str, &str)],
    ) -> Result<()> {
        let configs: Vec<TopicConfig<'_>> = configs
            .iter()
            .map(|(name, value)| TopicConfig {
                name,
                value: Some(value),
            })
            .collect();
        let mut said = None;
        let (cluster, buf) = self.admin_parts();
        let result = cluster.create_topic_reporting(
            topic,
            partitions,
            replication_factor,
            &configs,
            buf,
            &mut |message| said = Some(message.to_owned()),
        );
        result.map_err(|e| {
            let said = match e {
                nanokafka::Error::Broker { code, .. } => broker_said(code, said.as_deref()),
                _ => String::new(),
            };
            self.error(e, format!("creating topic {topic:?}{said}"))
        })
    }

    /// The names of every topic in the cluster, sorted (internal ones such as
    /// `__consumer_offsets` included).
    ///
    /// ```
    /// # let server = nanokafka_std::mock::MockCluster::default().serve_tcp()?;
    /// let mut client = nanokafka_std::Client::connect(server.bootstrap())?;
    /// client.create_topic("b", 1, -1, &[])?;
    /// client.create_topic("a", 1, -1, &[])?;
    /// assert_eq!(client.list_topics()?, ["a", "b"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn list_topics(&mut self) -> Result<Vec<String>> {
        let mut names: Vec<String> = self
            .metadata(None)?
            .topics
            .into_iter()
            .map(|t| t.name)
            .collect();
        names.sort();
        Ok(names)
    }

    /// Deletes `topics`, waiting up to the request timeout for the brokers to agree. A topic
    /// that could not be deleted (e.g. `UNKNOWN_TOPIC_OR_PARTITION`) fails the call, naming
    /// every such topic with the broker's code and message; the others are deleted.
    ///
    /// ```
    /// # let server = nanokafka_std::mock::MockCluster::default().serve_tcp()?;
    /// let mut client = nanokafka_std::Client::connect(server.bootstrap())?;
    /// client.create_topic("old-logs", 1, -1, &[])?;
    /// client.delete_topics(&["old-logs"])?;
    /// assert!(client.list_topics()?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn delete_topics(&mut self, topics: &[&str]) -> Result<()> {
        let request = DeleteTopicsRequest {
            topic_names: topics,
            timeout_ms: self.request_timeout_ms(),
        };
        let context = || format!("deleting topics {topics:?}");
        let failures = self.admin(&request, context, |response| {
            let each = response.responses.iter();
            failures(each.map(|r| (r.name, r.error_code, r.error_message)))
        })?;
        self.cluster().invalidate_metadata();
        failed(ApiKey::DeleteTopics, "deleting", failures)
    }

    /// Grows `topic` to `partitions` partitions in total (Kafka never shrinks a topic: a
    /// count not above the current one is `INVALID_PARTITIONS`). Keys hash to other
    /// partitions afterwards.
    ///
    /// ```
    /// # let server = nanokafka_std::mock::MockCluster::default().serve_tcp()?;
    /// let mut client = nanokafka_std::Client::connect(server.bootstrap())?;
    /// client.create_topic("telemetry", 2, -1, &[])?;
    /// client.create_partitions("telemetry", 6)?;
    /// assert_eq!(client.partition_count("telemetry")?, 6);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_partitions(&mut self, topic: &str, partitions: i32) -> Result<()> {
        let topics = [CreatePartitionsTopic {
            name: topic,
            count: partitions,
            assignments: None,
        }];
        let request = CreatePartitionsRequest {
            topics: &topics,
            timeout_ms: self.request_timeout_ms(),
            validate_only: false,
        };
        let context = || format!("growing topic {topic:?} to {partitions} partitions");
        let failures = self.admin(&request, context, |response| {
            let each = response.results.iter();
            failures(each.map(|r| (Some(r.name), r.error_code, r.error_message)))
        })?;
        self.cluster().invalidate_metadata();
        let doing = format!("growing to {partitions} partitions:");
        failed(ApiKey::CreatePartitions, &doing, failures)
    }

    /// Every config of `topic` with its value and where the value comes from, sorted by
    /// name as the broker sends them.
    ///
    /// ```
    /// # let server = nanokafka_std::mock::MockCluster::default().serve_tcp()?;
    /// let mut client = nanokafka_std::Client::connect(server.bootstrap())?;
    /// client.create_topic("telemetry", 1, -1, &[("retention.ms", "60000")])?;
    /// let configs = client.describe_topic_configs("telemetry")?;
    /// let retention = configs.iter().find(|c| c.name == "retention.ms").unwrap();
    /// assert_eq!(retention.value.as_deref(), Some("60000"));
    /// assert!(retention.is_override());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn describe_topic_configs(&mut self, topic: &str) -> Result<Vec<ConfigEntry>> {
        self.describe_configs(ConfigResource {
            kind: resource_type::TOPIC,
            name: topic,
        })
    }

    /// Every config of broker `broker_id` with its value and where the value comes from
    /// (`DYNAMIC_BROKER_CONFIG` when set on this broker with
    /// [`Client::alter_broker_configs`]); sensitive ones without their value.
    ///
    /// ```
    /// # let server = nanokafka_std::mock::MockCluster::default().serve_tcp()?;
    /// let mut client = nanokafka_std::Client::connect(server.bootstrap())?;
    /// let configs = client.describe_broker_configs(1)?;
    /// let threads = configs.iter().find(|c| c.name == "log.cleaner.threads").unwrap();
    /// assert_eq!(threads.value.as_deref(), Some("1"));
    /// assert!(!threads.is_override());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn describe_broker_configs(&mut self, broker_id: i32) -> Result<Vec<ConfigEntry>> {
        let name = broker_id.to_string();
        self.describe_configs(ConfigResource {
            kind: resource_type::BROKER,
            name: &name,
        })
    }

    /// The configs of `resource` (DescribeConfigs).
    fn describe_configs(&mut self, resource: ConfigResource<'_>) -> Result<Vec<ConfigEntry>> {
        let resources = [DescribeConfigsResource {
            resource_type: resource.kind,
            resource_name: resource.name,
            configuration_keys: None,
        }];
        let request = DescribeConfigsRequest {
            resources: &resources,
            include_synonyms: false,
            include_documentation: false,
        };
        let label = resource.label();
        let context = || format!("describing the configs of {label}");
        let answer = self.admin(&request, context, |response| {
            let Some(result) = response.results.find(|r| r.resource_name == resource.name) else {
                return Err(vec![(
                    label.clone(),
                    KafkaCode::UNKNOWN_SERVER_ERROR,
                    Some("the answer does not name it".to_owned()),
                )]);
            };
            if !result.error_code.is_ok() {
                let message = result.error_message.map(str::to_owned);
                return Err(vec![(label.clone(), result.error_code, message)]);
            }
            Ok(result
                .configs
                .iter()
                .map(|c| ConfigEntry {
                    name: c.name.to_owned(),
                    value: c.value.map(str::to_owned),
                    source: c.config_source,
                    read_only: c.read_only,
                    sensitive: c.is_sensitive,
                })
                .collect())
        })?;
        answer.or_else(|failures| {
            failed(ApiKey::DescribeConfigs, "describing configs of", failures).map(|()| Vec::new())
        })
    }

    /// Changes configs of `topic` (IncrementalAlterConfigs, Kafka 2.3+): the configs not
    /// named keep their values. All changes apply or none: an unknown config or a bad value
    /// is `INVALID_CONFIG` with the broker's message.
    ///
    /// ```
    /// use nanokafka_std::ConfigChange;
    /// # let server = nanokafka_std::mock::MockCluster::default().serve_tcp()?;
    /// let mut client = nanokafka_std::Client::connect(server.bootstrap())?;
    /// client.create_topic("telemetry", 1, -1, &[("retention.ms", "60000")])?;
    /// client.alter_topic_configs(
    ///     "telemetry",
    ///     &[ConfigChange::Set("cleanup.policy", "compact"), ConfigChange::Delete("retention.ms")],
    /// )?;
    /// let configs = client.describe_topic_configs("telemetry")?;
    /// let policy = configs.iter().find(|c| c.name == "cleanup.policy").unwrap();
    /// assert_eq!(policy.value.as_deref(), Some("compact"));
    /// let retention = configs.iter().find(|c| c.name == "retention.ms").unwrap();
    /// assert!(!retention.is_override());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn alter_topic_configs(&mut self, topic: &str, changes: &[ConfigChange<'_>]) -> Result<()> {
        let topic = ConfigResource {
            kind: resource_type::TOPIC,
            name: topic,
        };
        self.alter_configs(topic, changes)
    }

    /// Changes dynamic configs of broker `broker_id` (IncrementalAlterConfigs, as
    /// `kafka-configs.sh --entity-type brokers --entity-name ID --alter`): the configs not
    /// named keep their values; [`ConfigChange::Delete`] returns one to the static or
    /// default value. A config Kafka cannot change at runtime is `INVALID_REQUEST` or
    /// `INVALID_CONFIG` with the broker's message.
    ///
    /// ```
    /// use nanokafka_std::ConfigChange;
    /// # let server = nanokafka_std::mock::MockCluster::default().serve_tcp()?;
    /// let mut client = nanokafka_std::Client::connect(server.bootstrap())?;
    /// client.alter_broker_configs(1, &[ConfigChange::Set("log.cleaner.threads", "2")])?;
    /// let configs = client.describe_broker_configs(1)?;
    /// let threads = configs.iter().find(|c| c.name == "log.cleaner.threads").unwrap();
    /// assert_eq!(threads.value.as_deref(), Some("2"));
    /// assert!(threads.is_override());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn alter_broker_configs(
        &mut self,
        broker_id: i32,
        changes: &[ConfigChange<'_>],
    ) -> Result<()> {
        let name = broker_id.to_string();
        let broker = ConfigResource {
            kind: resource_type::BROKER,
            name: &name,
        };
        self.alter_configs(broker, changes)
    }

    /// Applies `changes` to `resource` (IncrementalAlterConfigs).
    fn alter_configs(
        &mut self,
        resource: ConfigResource<'_>,
        changes: &[ConfigChange<'_>],
    ) -> Result<()> {
        let configs: Vec<AlterableConfig<'_>> = changes.iter().map(ConfigChange::wire).collect();
        let resources = [AlterConfigsResource {
            resource_type: resource.kind,
            resource_name: resource.name,
            configs: &configs,
        }];
        let request = IncrementalAlterConfigsRequest {
            resources: &resources,
            validate_only: false,
        };
        let label = resource.label();
        let context = || format!("changing configs {changes:?} of {label}");
        let failures = self.admin(&request, context, |response| {
            let each = response.responses.iter();
            each.filter(|r| !r.error_code.is_ok())
                .map(|r| {
                    (
                        label.clone(),
                        r.error_code,
                        r.error_message.map(str::to_owned),
                    )
                })
                .collect()
        })?;
        failed(
            ApiKey::IncrementalAlterConfigs,
            "changing configs of",
            failures,
        )
    }

    /// The cluster id, the controller and the brokers (DescribeCluster, Kafka 2.8+).
    ///
    /// ```
    /// # let server = nanokafka_std::mock::MockCluster::default().serve_tcp()?;
    /// let mut client = nanokafka_std::Client::connect(server.bootstrap())?;
    /// let cluster = client.describe_cluster()?;
    /// assert_eq!(cluster.cluster_id, "nanokafka-mock");
    /// assert_eq!(cluster.brokers.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn describe_cluster(&mut self) -> Result<ClusterDescription> {
        let request = DescribeClusterRequest::default();
        let context = || "describing the cluster".to_owned();
        let answer = self.admin(&request, context, |response| {
            response
                .error_code
                .check(ApiKey::DescribeCluster)
                .map_err(|kind| (kind, response.error_message.map(str::to_owned)))?;
            Ok(ClusterDescription {
                cluster_id: response.cluster_id.to_owned(),
                controller_id: response.controller_id,
                brokers: response
                    .brokers
                    .iter()
                    .map(|b| BrokerInfo {
                        node_id: b.broker_id,
                        host: b.host.to_owned(),
                        port: b.port,
                    })
                    .collect(),
            })
        })?;
        answer.map_err(|(kind, message)| {
            let message = message.map_or_else(String::new, |m| format!(" ({m})"));
            Error::new(kind, format!("describing the cluster{message}"))
        })
    }
}
