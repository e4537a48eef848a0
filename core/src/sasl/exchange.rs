//! The blocking SASL exchange over a [`Connection`]: the same [`SaslClient`] steps a
//! sans-IO driver runs as states of its connection setup.

use super::{Authenticated, SaslClient, SaslError, Step};
use crate::client::{Clock, Connection};
use crate::protocol::sasl_authenticate::SaslAuthenticateRequest;
use crate::protocol::sasl_handshake::SaslHandshakeRequest;
use crate::protocol::Request;
use crate::Error;
use embedded_io::{Read, Write};
use zeroize::Zeroize;

/// Authenticates `connection` (just negotiated, nothing else sent yet) with `client`:
/// SaslHandshake v1, then SaslAuthenticate until the mechanism is done.
///
/// `buf` is split in half: one half holds the SASL messages, the other the requests and
/// responses; 1 KiB is ample for PLAIN and SCRAM with names of ordinary length. Both halves
/// are zeroized before returning, since they carried the password or proofs derived from it.
/// A broker refusal is returned at once (no retry: a wrong password stays wrong); the broker
/// closes the connection after it.
pub fn authenticate<T: Read + Write, C: Clock>(
    connection: &mut Connection<'_, T, C>,
    client: &mut SaslClient<'_>,
    buf: &mut [u8],
) -> Result<Authenticated, SaslError> {
    let result = run(connection, client, buf);
    buf.zeroize();
    result
}

fn run<T: Read + Write, C: Clock>(
    connection: &mut Connection<'_, T, C>,
    client: &mut SaslClient<'_>,
    buf: &mut [u8],
) -> Result<Authenticated, SaslError> {
    let mechanism = client.mechanism();
    let failed = |error| SaslError::Connection { mechanism, error };
    let (message, io) = buf.split_at_mut(buf.len() / 2);
    // v0 would carry the tokens raw on the socket, outside Kafka framing: not spoken here.
    let handshake_version = connection
        .version::<SaslHandshakeRequest>()
        .map_err(failed)?;
    if handshake_version < 1 {
        return Err(failed(Error::UnsupportedVersion {
            api: SaslHandshakeRequest::API_KEY,
            client: crate::VersionRange::new(1, 1),
            broker: connection.broker_range(SaslHandshakeRequest::API_KEY),
        }));
    }
    let response = connection
        .send_at(&client.handshake_request(), handshake_version, io)
        .map_err(failed)?;
    client.handshake_response(&response)?;
    let version = connection
        .version::<SaslAuthenticateRequest>()
        .map_err(failed)?;
    let mut len = client.first_message(message)?;
    loop {
        let request = SaslAuthenticateRequest {
            auth_bytes: message.get(..len).unwrap_or_default(),
        };
        let response = connection.send_at(&request, version, io).map_err(failed)?;
        // Sent: the message is not needed any more.
        message.zeroize();
        match client.authenticate_response(&response, message)? {
            Step::Send(next) => len = next,
            Step::Done(authenticated) => return Ok(authenticated),
        }
    }
}
