//! DescribeCluster (key 60): the cluster id, the controller and the brokers.
//!
//! Versions 0-2, all flexible: 0 on every broker from 2.8 through 4.x, 1 (which endpoints:
//! brokers or controllers) from 3.7, 2 (fenced brokers too) from 4.0.

use super::{ApiKey, Request, VersionRange};
use crate::wire::{Array, Decode, Encode, Reader, Writer};
use crate::{KafkaCode, Result};

/// The endpoints a [`DescribeClusterRequest`] asks about (v1+).
pub mod endpoint_type {
    /// The brokers (the only answer before v1).
    pub const BROKERS: i8 = 1;
    /// The KRaft controllers.
    pub const CONTROLLERS: i8 = 2;
}

/// DescribeCluster request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DescribeClusterRequest {
    /// Also return the operations this client may perform on the cluster.
    pub include_cluster_authorized_operations: bool,
    /// Which endpoints to describe (an [`endpoint_type`]; v1+, the brokers before).
    pub endpoint_type: i8,
    /// Also list fenced brokers (v2+; not before).
    pub include_fenced_brokers: bool,
}

impl Default for DescribeClusterRequest {
    /// The brokers, nothing else.
    fn default() -> Self {
        DescribeClusterRequest {
            include_cluster_authorized_operations: false,
            endpoint_type: endpoint_type::BROKERS,
            include_fenced_brokers: false,
        }
    }
}

impl Encode for DescribeClusterRequest {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        writer.bool(self.include_cluster_authorized_operations)?;
        if version >= 1 {
            writer.i8(self.endpoint_type)?;
        }
        if version >= 2 {
            writer.bool(self.include_fenced_brokers)?;
        }
        writer.empty_tagged_fields()
    }
}

impl Request for DescribeClusterRequest {
    const API_KEY: ApiKey = ApiKey::DescribeCluster;
    const VERSIONS: VersionRange = VersionRange::new(0, 2);
    const FLEXIBLE_FROM: i16 = 0;
    type Response<'a> = DescribeClusterResponse<'a>;
}

/// DescribeCluster response.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DescribeClusterResponse<'a> {
    /// Time the request was throttled, in ms.
    pub throttle_time_ms: i32,
    /// The error, or `NONE`.
    pub error_code: KafkaCode,
    /// The error message.
    pub error_message: Option<&'a str>,
    /// The endpoints described (v1+; the brokers before).
    pub endpoint_type: i8,
    /// The cluster id.
    pub cluster_id: &'a str,
    /// The controller's broker id (-1 when unknown; a random broker with KRaft, as Kafka
    /// answers).
    pub controller_id: i32,
    /// The brokers (or controllers).
    pub brokers: Array<'a, DescribeClusterBroker<'a>>,
    /// A bit field of allowed operations, when asked for (else `i32::MIN`).
    pub cluster_authorized_operations: i32,
}

/// One broker of a [`DescribeClusterResponse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DescribeClusterBroker<'a> {
    /// Its id.
    pub broker_id: i32,
    /// Its host.
    pub host: &'a str,
    /// Its port.
    pub port: i32,
    /// Its rack, if any.
    pub rack: Option<&'a str>,
    /// Whether it is fenced (v2+, else false).
    pub is_fenced: bool,
}

impl<'a> Decode<'a> for DescribeClusterResponse<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let throttle_time_ms = reader.i32()?;
        let error_code = KafkaCode(reader.i16()?);
        let error_message = reader.nullable_string(true)?;
        let endpoint_type = if version >= 1 {
            reader.i8()?
        } else {
            endpoint_type::BROKERS
        };
        let response = DescribeClusterResponse {
            throttle_time_ms,
            error_code,
            error_message,
            endpoint_type,
            cluster_id: reader.string(true)?,
            controller_id: reader.i32()?,
            brokers: Array::decode(reader, version, true)?,
            cluster_authorized_operations: reader.i32()?,
        };
        reader.skip_tagged_fields()?;
        Ok(response)
    }
}

impl<'a> Decode<'a> for DescribeClusterBroker<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let broker = DescribeClusterBroker {
            broker_id: reader.i32()?,
            host: reader.string(true)?,
            port: reader.i32()?,
            rack: reader.nullable_string(true)?,
            is_fenced: version >= 2 && reader.bool()?,
        };
        reader.skip_tagged_fields()?;
        Ok(broker)
    }
}
