//! DeleteTopics, CreatePartitions, DescribeConfigs, IncrementalAlterConfigs and
//! DescribeCluster, and the topic configs CreateTopics accepts.

use super::{text, topic_name};
use crate::mock::handler::Ctx;
use crate::mock::state::State;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreatePartitionsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    DescribeClusterRequest, DescribeClusterResponse, DescribeConfigsRequest,
    DescribeConfigsResponse, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use nanokafka::protocol::describe_configs::{config_source, resource_type};
use nanokafka::protocol::incremental_alter_configs::ConfigOperation;
use nanokafka::KafkaCode;
use uuid::Uuid;

/// Kafka's `ConfigType` ids the table below uses.
const STRING: i8 = 2;
const INT: i8 = 3;
const LONG: i8 = 5;
const LIST: i8 = 7;

/// A topic or dynamic broker config the mock knows: its name, Kafka's default, its type and
/// which values are valid.
struct TopicConfig {
    name: &'static str,
    default: &'static str,
    config_type: i8,
    valid: fn(&str) -> bool,
}

fn at_least(min: i64) -> impl Fn(&str) -> bool {
    move |v| v.parse::<i64>().is_ok_and(|n| n >= min)
}

/// The topic configs the mock stores and describes (Kafka's defaults); `max.message.bytes`
/// is also enforced on Produce. Any other name is INVALID_CONFIG, as Kafka answers.
const TOPIC_CONFIGS: &[TopicConfig] = &[
    TopicConfig {
        name: "cleanup.policy",
        default: "delete",
        config_type: LIST,
        valid: |v| {
            v.split(',')
                .all(|p| matches!(p.trim(), "delete" | "compact"))
        },
    },
    TopicConfig {
        name: "compression.type",
        default: "producer",
        config_type: STRING,
        valid: |v| {
            matches!(
                v,
                "producer" | "uncompressed" | "gzip" | "snappy" | "lz4" | "zstd"
            )
        },
    },
    TopicConfig {
        name: "max.message.bytes",
        default: "1048588",
        config_type: INT,
        valid: |v| v.parse::<i32>().is_ok_and(|n| n >= 0),
    },
    TopicConfig {
        name: "message.timestamp.type",
        default: "CreateTime",
        config_type: STRING,
        valid: |v| matches!(v, "CreateTime" | "LogAppendTime"),
    },
    TopicConfig {
        name: "min.insync.replicas",
        default: "1",
        config_type: INT,
        valid: |v| v.parse::<i32>().is_ok_and(|n| n >= 1),
    },
    TopicConfig {
        name: "retention.bytes",
        default: "-1",
        config_type: LONG,
        valid: |v| at_least(-1)(v),
    },
    TopicConfig {
        name: "retention.ms",
        default: "604800000",
        config_type: LONG,
        valid: |v| at_least(-1)(v),
    },
    TopicConfig {
        name: "segment.bytes",
        default: "1073741824",
        config_type: INT,
        valid: |v| v.parse::<i32>().is_ok_and(|n| n >= 14),
    },
];

/// The broker configs the mock lets IncrementalAlterConfigs change per broker (Kafka's
/// defaults); the others it describes are read-only.
const DYNAMIC_BROKER_CONFIGS: &[TopicConfig] = &[TopicConfig {
    name: "log.cleaner.threads",
    default: "1",
    config_type: INT,
    valid: |v| v.parse::<i32>().is_ok_and(|n| n >= 1),
}];

/// The configs of a resource type the mock knows, and the word its messages use for them.
#[derive(Clone, Copy)]
struct Known {
    configs: &'static [TopicConfig],
    kind: &'static str,
}

const TOPIC: Known = Known {
    configs: TOPIC_CONFIGS,
    kind: "topic",
};
const BROKER: Known = Known {
    configs: DYNAMIC_BROKER_CONFIGS,
    kind: "dynamic broker",
};

impl Known {
    fn get(&self, name: &str) -> Result<&'static TopicConfig, String> {
        let kind = self.kind;
        self.configs
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| format!("Unknown {kind} config name: {name}"))
    }
}

/// Checks one topic config value as Kafka would: unknown names and invalid values are
/// INVALID_CONFIG with a message naming them.
pub(super) fn check_topic_config(name: &str, value: Option<&str>) -> Result<(), String> {
    check_config(TOPIC, name, value)
}

fn check_config(known: Known, name: &str, value: Option<&str>) -> Result<(), String> {
    let config = known.get(name)?;
    match value {
        Some(v) if (config.valid)(v) => Ok(()),
        _ => Err(format!(
            "Invalid value {} for configuration {name}",
            value.unwrap_or("null")
        )),
    }
}

pub(super) fn delete_topics(
    ctx: &mut Ctx,
    state: &mut State,
    request: &DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    let v = ctx.version;
    // v6 names topics by name or id; before, by name only.
    let asked: Vec<(Option<String>, Uuid)> = if v >= 6 {
        request
            .topics
            .iter()
            .map(|t| (t.name.as_ref().map(|n| n.0.to_string()), t.topic_id))
            .collect()
    } else {
        request
            .topic_names
            .iter()
            .map(|n| (Some(n.0.to_string()), Uuid::nil()))
            .collect()
    };
    let responses = asked
        .into_iter()
        .map(|(name, id)| {
            let name = match name {
                Some(name) if id.is_nil() => Some(name),
                _ => state.topic_by_id(id).map(|(n, _)| n.clone()),
            };
            let topic_id = name
                .as_deref()
                .and_then(|n| state.topics.get(n))
                .map_or(id, |t| t.id);
            let outcome = match &name {
                None => Err(KafkaCode::UNKNOWN_TOPIC_ID),
                Some(n) => match ctx.injected(Some(n), None) {
                    Some(code) => Err(KafkaCode(code)),
                    None => state.delete_topic(n),
                },
            };
            let mut result =
                DeletableTopicResult::default().with_name(name.as_deref().map(topic_name));
            if v >= 6 {
                result.topic_id = topic_id;
            }
            if let Err(code) = outcome {
                log::warn!("mock broker {}: DeleteTopics {name:?}: {code}", ctx.node);
                result.error_code = code.0;
                if v >= 5 {
                    result.error_message = Some(text(code.name()));
                }
            }
            result
        })
        .collect();
    DeleteTopicsResponse::default().with_responses(responses)
}

pub(super) fn create_partitions(
    ctx: &mut Ctx,
    state: &mut State,
    request: &CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let results = request
        .topics
        .iter()
        .map(|t| {
            let name = t.name.0.as_str();
            let leaders: Option<Vec<i32>> = t.assignments.as_ref().map(|a| {
                a.iter()
                    .map(|a| a.broker_ids.first().map_or(-1, |b| b.0))
                    .collect()
            });
            let current = state.topics.get(name).map(|t| t.partitions.len());
            let outcome = match (ctx.injected(Some(name), None), current) {
                (Some(code), _) => Err((KafkaCode(code), None)),
                (None, None) => Err((KafkaCode::UNKNOWN_TOPIC_OR_PARTITION, None)),
                (None, Some(n)) if usize::try_from(t.count).map_or(true, |c| c <= n) => Err((
                    KafkaCode::INVALID_PARTITIONS,
                    Some(format!(
                        "Topic currently has {n} partitions, which is higher than or equal to the requested {}.",
                        t.count
                    )),
                )),
                (None, Some(_)) if request.validate_only => Ok(()),
                (None, Some(_)) => state
                    .grow_topic(name, t.count, leaders)
                    .map_err(|code| (code, None)),
            };
            let mut result = CreatePartitionsTopicResult::default()
                .with_name(topic_name(name))
                .with_error_message(None);
            if let Err((code, message)) = outcome {
                log::warn!("mock broker {}: CreatePartitions {name}: {code}", ctx.node);
                result.error_code = code.0;
                result.error_message = Some(text(&message.unwrap_or_else(|| code.name().to_owned())));
            }
            result
        })
        .collect();
    CreatePartitionsResponse::default().with_results(results)
}

pub(super) fn describe_configs(
    ctx: &mut Ctx,
    state: &State,
    request: &DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let v = ctx.version;
    let results = request
        .resources
        .iter()
        .map(|r| {
            let name = r.resource_name.as_str();
            let wanted = |config: &str| {
                r.configuration_keys
                    .as_ref()
                    .is_none_or(|keys| keys.iter().any(|k| k.as_str() == config))
            };
            let mut result = DescribeConfigsResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone())
                .with_error_message(None);
            let entries: Result<Vec<DescribeConfigsResourceResult>, (KafkaCode, String)> = match r
                .resource_type
            {
                resource_type::TOPIC => {
                    match (ctx.injected(Some(name), None), state.topics.get(name)) {
                        (Some(code), _) => {
                            Err((KafkaCode(code), KafkaCode(code).name().to_owned()))
                        }
                        (None, None) => Err((
                            KafkaCode::UNKNOWN_TOPIC_OR_PARTITION,
                            format!("Topic {name} does not exist"),
                        )),
                        (None, Some(topic)) => Ok(TOPIC_CONFIGS
                            .iter()
                            .filter(|c| wanted(c.name))
                            .map(|c| {
                                let set = topic.configs.get(c.name);
                                let (value, source) = match set {
                                    Some(value) => {
                                        (value.as_str(), config_source::DYNAMIC_TOPIC_CONFIG)
                                    }
                                    None => (c.default, config_source::DEFAULT_CONFIG),
                                };
                                let mut entry = DescribeConfigsResourceResult::default()
                                    .with_name(text(c.name))
                                    .with_value(Some(text(value)))
                                    .with_config_source(source);
                                if request.include_synonyms {
                                    let synonym = |value: &str, source| {
                                        DescribeConfigsSynonym::default()
                                            .with_name(text(c.name))
                                            .with_value(Some(text(value)))
                                            .with_source(source)
                                    };
                                    entry.synonyms = set
                                        .map(|s| synonym(s, config_source::DYNAMIC_TOPIC_CONFIG))
                                        .into_iter()
                                        .chain([synonym(c.default, config_source::DEFAULT_CONFIG)])
                                        .collect();
                                }
                                if v >= 3 {
                                    entry.config_type = c.config_type;
                                }
                                entry
                            })
                            .collect()),
                    }
                }
                resource_type::BROKER
                    if name.is_empty()
                        || name
                            .parse::<i32>()
                            .is_ok_and(|id| state.broker(id).is_some()) =>
                {
                    let broker_configs = [
                        (
                            "auto.create.topics.enable",
                            state.config.auto_create_topics.to_string(),
                            1,
                        ),
                        (
                            "message.max.bytes",
                            state.config.message_max_bytes.to_string(),
                            INT,
                        ),
                        (
                            "num.partitions",
                            state.config.default_partitions.to_string(),
                            INT,
                        ),
                    ];
                    let set = name
                        .parse::<i32>()
                        .ok()
                        .and_then(|id| state.broker(id))
                        .map(|b| &b.configs);
                    let statics = broker_configs.into_iter().map(|(n, value, config_type)| {
                        (
                            n,
                            value,
                            config_type,
                            true,
                            config_source::STATIC_BROKER_CONFIG,
                        )
                    });
                    let dynamics = DYNAMIC_BROKER_CONFIGS.iter().map(|c| {
                        match set.and_then(|configs| configs.get(c.name)) {
                            Some(value) => (
                                c.name,
                                value.clone(),
                                c.config_type,
                                false,
                                config_source::DYNAMIC_BROKER_CONFIG,
                            ),
                            None => (
                                c.name,
                                c.default.to_owned(),
                                c.config_type,
                                false,
                                config_source::DEFAULT_CONFIG,
                            ),
                        }
                    });
                    let mut all: Vec<_> = statics.chain(dynamics).collect();
                    all.sort_by_key(|(n, ..)| *n);
                    Ok(all
                        .into_iter()
                        .filter(|(n, ..)| wanted(n))
                        .map(|(n, value, config_type, read_only, source)| {
                            let mut entry = DescribeConfigsResourceResult::default()
                                .with_name(text(n))
                                .with_value(Some(text(&value)))
                                .with_read_only(read_only)
                                .with_config_source(source);
                            if v >= 3 {
                                entry.config_type = config_type;
                            }
                            entry
                        })
                        .collect())
                }
                resource_type::BROKER => Err((
                    KafkaCode::INVALID_REQUEST,
                    format!("No broker with id {name}"),
                )),
                other => Err((
                    KafkaCode::INVALID_REQUEST,
                    format!(
                        "The mock broker describes topics and brokers, not resource type {other}"
                    ),
                )),
            };
            match entries {
                Ok(configs) => result.configs = configs,
                Err((code, message)) => {
                    log::warn!("mock broker {}: DescribeConfigs {name}: {code}", ctx.node);
                    result.error_code = code.0;
                    result.error_message = Some(text(&message));
                }
            }
            result
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

pub(super) fn incremental_alter_configs(
    ctx: &mut Ctx,
    state: &mut State,
    request: &IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let responses = request
        .resources
        .iter()
        .map(|r| {
            let name = r.resource_name.as_str();
            let target = match r.resource_type {
                resource_type::TOPIC => match state.topics.get_mut(name) {
                    None => Err((
                        KafkaCode::UNKNOWN_TOPIC_OR_PARTITION,
                        format!("Topic {name} does not exist"),
                    )),
                    Some(topic) => Ok((TOPIC, &mut topic.configs)),
                },
                resource_type::BROKER => {
                    let broker = name.parse::<i32>().ok();
                    match broker.and_then(|id| state.broker_mut(id)) {
                        None => Err((
                            KafkaCode::INVALID_REQUEST,
                            format!("No broker with id {name:?} (the mock keeps no cluster-wide default)"),
                        )),
                        Some(broker) => Ok((BROKER, &mut broker.configs)),
                    }
                }
                other => Err((
                    KafkaCode::INVALID_REQUEST,
                    format!("The mock broker alters topic and broker configs, not resource type {other}"),
                )),
            };
            let outcome = match (ctx.injected(Some(name), None), target) {
                (Some(code), _) => Err((KafkaCode(code), KafkaCode(code).name().to_owned())),
                (None, Err(refused)) => Err(refused),
                (None, Ok((known, stored))) => {
                    // All changes or none: apply them to a copy, keep it if all were valid.
                    let mut configs = stored.clone();
                    let applied = r.configs.iter().try_for_each(|c| {
                        alter(
                            known,
                            &mut configs,
                            c.name.as_str(),
                            c.config_operation,
                            c.value.as_deref(),
                        )
                    });
                    applied
                        .map_err(|message| (KafkaCode::INVALID_CONFIG, message))
                        .map(|()| {
                            if !request.validate_only {
                                *stored = configs;
                            }
                        })
                }
            };
            let mut response = AlterConfigsResourceResponse::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone())
                .with_error_message(None);
            if let Err((code, message)) = outcome {
                log::warn!(
                    "mock broker {}: IncrementalAlterConfigs {name}: {code}: {message}",
                    ctx.node
                );
                response.error_code = code.0;
                response.error_message = Some(text(&message));
            }
            response
        })
        .collect();
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

/// Applies one IncrementalAlterConfigs operation to a topic's or broker's configs.
fn alter(
    known: Known,
    configs: &mut std::collections::BTreeMap<String, String>,
    name: &str,
    operation: i8,
    value: Option<&str>,
) -> Result<(), String> {
    let config = known.get(name)?;
    let list = |configs: &std::collections::BTreeMap<String, String>| -> Vec<String> {
        let current = configs.get(name).map_or(config.default, String::as_str);
        current
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let set = match operation {
        op if op == ConfigOperation::Set as i8 => value.map(str::to_owned),
        op if op == ConfigOperation::Delete as i8 => {
            configs.remove(name);
            return Ok(());
        }
        op if op == ConfigOperation::Append as i8 || op == ConfigOperation::Subtract as i8 => {
            if config.config_type != LIST {
                return Err(format!(
                    "Config {name} is not a list: it cannot be appended to or subtracted from"
                ));
            }
            let mut items = list(configs);
            let changes: Vec<&str> = value
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .collect();
            if op == ConfigOperation::Append as i8 {
                for change in changes {
                    if !items.iter().any(|i| i == change) {
                        items.push(change.to_owned());
                    }
                }
            } else {
                items.retain(|i| !changes.contains(&i.as_str()));
            }
            Some(items.join(","))
        }
        other => return Err(format!("Unknown config operation {other} for {name}")),
    };
    check_config(known, name, set.as_deref())?;
    configs.insert(name.to_owned(), set.unwrap_or_default());
    Ok(())
}

pub(super) fn describe_cluster(
    ctx: &mut Ctx,
    state: &State,
    request: &DescribeClusterRequest,
) -> DescribeClusterResponse {
    let v = ctx.version;
    let mut response = DescribeClusterResponse::default()
        .with_cluster_id(text(&state.config.cluster_id))
        .with_error_message(None);
    if v >= 1 {
        response.endpoint_type = request.endpoint_type;
    }
    let refused = ctx
        .injected(None, None)
        .map(|c| (KafkaCode(c), KafkaCode(c).name().to_owned()))
        .or_else(|| {
            (v >= 1 && request.endpoint_type != 1).then(|| {
                (
                    KafkaCode::INVALID_REQUEST,
                    "The mock broker has no KRaft controllers to describe".to_owned(),
                )
            })
        });
    if let Some((code, message)) = refused {
        response.error_code = code.0;
        response.error_message = Some(text(&message));
        return response;
    }
    // The controller as Metadata names it: the first live broker.
    response.controller_id = state.live_brokers().next().map_or(-1, |b| b.node_id).into();
    response.brokers = state
        .live_brokers()
        .map(|b| {
            DescribeClusterBroker::default()
                .with_broker_id(b.node_id.into())
                .with_host(text(&b.host))
                .with_port(b.port)
                .with_rack(None)
        })
        .collect();
    response
}
