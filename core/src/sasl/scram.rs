//! SCRAM (RFC 5802) with SHA-256 (RFC 7677) and SHA-512, as Kafka speaks it: no channel
//! binding (`n,,`), no authorization identity, no extensions sent.

use super::{Credentials, Mechanism, Message, MessageWriter, SaslError};
use base64ct::{Base64, Encoding};
use core::fmt;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256, Sha512};
use zeroize::Zeroize;

/// Random bytes in the client nonce (base64-encoded to 32 characters): 192 bits.
const NONCE_BYTES: usize = 24;
/// Characters of the encoded client nonce.
const NONCE_LEN: usize = 32;
/// The largest digest (SHA-512).
const MAX_DIGEST: usize = 64;
/// The largest salt accepted (Kafka's are about 30 bytes).
const MAX_SALT: usize = 128;
/// The most PBKDF2 iterations a server may ask for: more would stall a microcontroller for
/// minutes (Kafka's default is 4096, its maximum 16384).
const MAX_ITERATIONS: u32 = 100_000;
/// base64 of the GS2 header `n,,` (no channel binding, no authzid).
const CHANNEL_BINDING: &[u8] = b"c=biws";

/// The longest server nonce accepted (Kafka's is the client's 32 characters and about 26
/// more).
const MAX_SERVER_NONCE: usize = 128;

/// Where one SCRAM exchange stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    ClientFirst,
    AwaitServerFirst,
    ClientFinal,
    AwaitServerFinal,
    Done,
}

/// One SCRAM exchange's state: the client nonce; after server-first the combined nonce, the
/// proof to send and the server signature to expect.
#[derive(Clone)]
pub(super) struct Scram {
    mechanism: Mechanism,
    stage: Stage,
    nonce: [u8; NONCE_LEN],
    nonce_len: usize,
    server_nonce: [u8; MAX_SERVER_NONCE],
    server_nonce_len: usize,
    proof: [u8; MAX_DIGEST],
    server_signature: [u8; MAX_DIGEST],
    digest_len: usize,
}

impl Drop for Scram {
    fn drop(&mut self) {
        self.forget();
        self.nonce.zeroize();
    }
}

impl Scram {
    pub(super) fn new<R: rand_core::TryCryptoRng + ?Sized>(
        mechanism: Mechanism,
        rng: &mut R,
    ) -> Result<Self, SaslError> {
        let mut random = [0u8; NONCE_BYTES];
        rng.try_fill_bytes(&mut random)
            .map_err(|_| SaslError::Rng { mechanism })?;
        let mut nonce = [0u8; NONCE_LEN];
        let encoded = Base64::encode(&random, &mut nonce)
            .map(str::len)
            .map_err(|_| SaslError::Rng { mechanism });
        random.zeroize();
        Ok(Self::with_nonce_array(mechanism, nonce, encoded?))
    }

    fn with_nonce_array(mechanism: Mechanism, nonce: [u8; NONCE_LEN], nonce_len: usize) -> Self {
        Scram {
            mechanism,
            stage: Stage::ClientFirst,
            nonce,
            nonce_len,
            server_nonce: [0; MAX_SERVER_NONCE],
            server_nonce_len: 0,
            proof: [0; MAX_DIGEST],
            server_signature: [0; MAX_DIGEST],
            digest_len: 0,
        }
    }

    /// RFC test vectors only: a given nonce.
    #[cfg(test)]
    pub(super) fn with_nonce(mechanism: Mechanism, given: &[u8]) -> Self {
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..given.len()].copy_from_slice(given);
        Self::with_nonce_array(mechanism, nonce, given.len())
    }

    /// Zeroizes what server-first gave.
    fn forget(&mut self) {
        self.proof.zeroize();
        self.server_signature.zeroize();
        self.server_nonce.zeroize();
        self.digest_len = 0;
    }

    fn nonce(&self) -> &[u8] {
        self.nonce.get(..self.nonce_len).unwrap_or_default()
    }

    fn malformed(&self, what: &'static str) -> SaslError {
        SaslError::Malformed {
            mechanism: self.mechanism,
            what,
        }
    }

    fn out_of_order(&self) -> SaslError {
        SaslError::State {
            mechanism: self.mechanism,
        }
    }

    /// The client message due: client-first, then client-final.
    pub(super) fn next_message(
        &mut self,
        username: &str,
        out: &mut [u8],
    ) -> Result<usize, SaslError> {
        match self.stage {
            Stage::ClientFirst => {
                let len = self.client_first(username, out)?;
                self.stage = Stage::AwaitServerFirst;
                Ok(len)
            }
            Stage::ClientFinal => {
                let len = self.client_final(out);
                // The proof is sent (or failed to fit): not needed any more.
                self.proof.zeroize();
                self.stage = Stage::AwaitServerFinal;
                len
            }
            _ => Err(self.out_of_order()),
        }
    }

    /// client-first-message: `n,,n=<user>,r=<nonce>`.
    pub(super) fn client_first(&self, username: &str, out: &mut [u8]) -> Result<usize, SaslError> {
        let mut writer = MessageWriter::new(out);
        let mut result = writer.push(b"n,,");
        client_first_bare(username, self.nonce(), &mut |part| {
            if result.is_ok() {
                result = writer.push(part);
            }
        });
        let mechanism = self.mechanism;
        result.map_err(|error| SaslError::Connection { mechanism, error })?;
        Ok(writer.len())
    }

    /// The server's next message: server-first makes client-final due (`true`), server-final
    /// ends the exchange (`false`) once its signature is verified.
    pub(super) fn challenge(
        &mut self,
        credentials: Credentials<'_>,
        server_message: &[u8],
    ) -> Result<bool, SaslError> {
        let text = core::str::from_utf8(server_message)
            .map_err(|_| self.malformed("server message is not UTF-8"));
        match self.stage {
            Stage::AwaitServerFirst => {
                self.server_first(credentials, text?)?;
                self.stage = Stage::ClientFinal;
                Ok(true)
            }
            Stage::AwaitServerFinal => {
                let verified = text.and_then(|text| self.verify_server_final(text));
                self.forget();
                verified?;
                self.stage = Stage::Done;
                Ok(false)
            }
            _ => Err(self.out_of_order()),
        }
    }

    /// Takes server-first: derives the proof and the server signature to expect.
    fn server_first(
        &mut self,
        credentials: Credentials<'_>,
        server_first: &str,
    ) -> Result<(), SaslError> {
        let first = parse_server_first(server_first, self.nonce()).map_err(|e| match e {
            ParseError::Malformed(what) => self.malformed(what),
            ParseError::Rejected(text) => self.rejected(text),
        })?;
        let mut salt = [0u8; MAX_SALT];
        let salt = Base64::decode(first.salt, &mut salt)
            .map_err(|_| self.malformed("salt (s=) is not base64 of at most 128 bytes"))?;
        if salt.is_empty() {
            return Err(self.malformed("salt (s=) is empty"));
        }
        let server_nonce = first.nonce.as_bytes();
        let too_long = self.malformed("server nonce (r=) is longer than 128 characters");
        self.server_nonce
            .get_mut(..server_nonce.len())
            .ok_or(too_long)?
            .copy_from_slice(server_nonce);
        self.server_nonce_len = server_nonce.len();
        let exchange = ScramExchange {
            username: credentials.username,
            client_nonce: self.nonce(),
            server_first: server_first.as_bytes(),
            server_nonce,
            salt,
            iterations: first.iterations,
        };
        let signatures = exchange
            .signatures(self.mechanism, credentials.password.as_bytes())
            .ok_or_else(|| self.malformed("key derivation failed"))?;
        self.proof = signatures.proof;
        self.server_signature = signatures.server_signature;
        self.digest_len = signatures.len;
        Ok(())
    }

    /// client-final-message: `c=biws,r=<server nonce>,p=<proof>`.
    fn client_final(&self, out: &mut [u8]) -> Result<usize, SaslError> {
        let mut encoded = [0u8; 88];
        let written = self
            .proof
            .get(..self.digest_len)
            .and_then(|proof| Base64::encode(proof, &mut encoded).ok())
            .map(str::as_bytes)
            .ok_or_else(|| self.malformed("proof does not fit"))
            .and_then(|proof| {
                let mut writer = MessageWriter::new(out);
                let mechanism = self.mechanism;
                [
                    CHANNEL_BINDING,
                    b",r=",
                    self.server_nonce
                        .get(..self.server_nonce_len)
                        .unwrap_or_default(),
                    b",p=",
                    proof,
                ]
                .into_iter()
                .try_for_each(|part| writer.push(part))
                .map(|()| writer.len())
                .map_err(|error| SaslError::Connection { mechanism, error })
            });
        encoded.zeroize();
        written
    }

    fn verify_server_final(&mut self, server_final: &str) -> Result<(), SaslError> {
        let first = server_final.split(',').next().unwrap_or_default();
        if let Some(error) = first.strip_prefix("e=") {
            return Err(self.rejected(error));
        }
        let signature = first
            .strip_prefix("v=")
            .ok_or_else(|| self.malformed("server-final has neither v= nor e="))?;
        let mut decoded = [0u8; MAX_DIGEST];
        let decoded = Base64::decode(signature, &mut decoded)
            .map_err(|_| self.malformed("server signature (v=) is not base64"))?;
        let expected = self
            .server_signature
            .get(..self.digest_len)
            .unwrap_or_default();
        // Constant time over the expected length.
        let differs = decoded.len() != expected.len()
            || decoded
                .iter()
                .zip(expected)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                != 0;
        if differs {
            Err(SaslError::ServerSignatureMismatch {
                mechanism: self.mechanism,
            })
        } else {
            Ok(())
        }
    }

    fn rejected(&self, text: &str) -> SaslError {
        let mut message = Message::new();
        super::push_truncated(&mut message, text);
        SaslError::ServerRejected {
            mechanism: self.mechanism,
            message,
        }
    }
}

/// `n=<saslname>,r=<nonce>`, with `=` and `,` in the user name escaped (RFC 5802 §5.1),
/// given in parts to `sink` (the message writer, or the signatures' HMACs).
fn client_first_bare(username: &str, nonce: &[u8], sink: &mut dyn FnMut(&[u8])) {
    sink(b"n=");
    for byte in username.as_bytes() {
        match byte {
            b'=' => sink(b"=3D"),
            b',' => sink(b"=2C"),
            _ => sink(core::slice::from_ref(byte)),
        }
    }
    sink(b",r=");
    sink(nonce);
}

/// One SCRAM exchange as both sides see it once server-first is known: what RFC 5802's
/// AuthMessage is made of, the salt and the iteration count. The client derives its proof
/// from it; a server (the std adapter's mock broker) derives the same to check the proof it
/// received, so both sides share one implementation.
#[derive(Debug, Clone, Copy)]
pub struct ScramExchange<'x> {
    /// The user name as given (unescaped).
    pub username: &'x str,
    /// The client's nonce (`r=` of client-first).
    pub client_nonce: &'x [u8],
    /// The whole server-first message.
    pub server_first: &'x [u8],
    /// The combined nonce (`r=` of server-first and client-final).
    pub server_nonce: &'x [u8],
    /// The salt, decoded.
    pub salt: &'x [u8],
    /// The PBKDF2 iteration count.
    pub iterations: u32,
}

/// A SCRAM exchange's ClientProof and ServerSignature ([`ScramExchange::signatures`]);
/// zeroized when dropped.
pub struct ScramSignatures {
    proof: [u8; MAX_DIGEST],
    server_signature: [u8; MAX_DIGEST],
    len: usize,
}

impl ScramSignatures {
    /// The ClientProof (`p=` of client-final, decoded).
    pub fn proof(&self) -> &[u8] {
        self.proof.get(..self.len).unwrap_or_default()
    }

    /// The ServerSignature (`v=` of server-final, decoded).
    pub fn server_signature(&self) -> &[u8] {
        self.server_signature.get(..self.len).unwrap_or_default()
    }
}

impl Drop for ScramSignatures {
    fn drop(&mut self) {
        self.proof.zeroize();
        self.server_signature.zeroize();
    }
}

impl fmt::Debug for ScramSignatures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ScramSignatures(***)")
    }
}

impl ScramExchange<'_> {
    /// ClientProof and ServerSignature for `password` under `mechanism` (RFC 5802 §3);
    /// `None` for a mechanism that is not SCRAM, or an iteration count of 0.
    pub fn signatures(&self, mechanism: Mechanism, password: &[u8]) -> Option<ScramSignatures> {
        if self.iterations == 0 {
            return None;
        }
        let mut signatures = ScramSignatures {
            proof: [0; MAX_DIGEST],
            server_signature: [0; MAX_DIGEST],
            len: 0,
        };
        let (proof, server_signature) = (&mut signatures.proof, &mut signatures.server_signature);
        signatures.len = match mechanism {
            Mechanism::ScramSha256 => derive::<Sha256>(password, self, proof, server_signature),
            Mechanism::ScramSha512 => derive::<Sha512>(password, self, proof, server_signature),
            Mechanism::Plain => None,
        }?;
        Some(signatures)
    }

    /// AuthMessage: `client-first-bare "," server-first "," client-final-without-proof`,
    /// fed to the HMACs in parts, without a buffer for it.
    fn feed(&self, sink: &mut dyn FnMut(&[u8])) {
        client_first_bare(self.username, self.client_nonce, sink);
        sink(b",");
        sink(self.server_first);
        sink(b",");
        sink(CHANNEL_BINDING);
        sink(b",r=");
        sink(self.server_nonce);
    }
}

/// Derives ClientProof and ServerSignature (RFC 5802 §3) into the first `D`-output bytes of
/// `proof` and `server_signature`; every intermediate key is zeroized. `None` only if the
/// HMAC refused a key (it takes any length).
fn derive<D>(
    password: &[u8],
    auth: &ScramExchange<'_>,
    proof: &mut [u8; MAX_DIGEST],
    server_signature: &mut [u8; MAX_DIGEST],
) -> Option<usize>
where
    D: Digest + hmac::EagerHash,
{
    let len = <D as Digest>::output_size();
    let mut salted = [0u8; MAX_DIGEST];
    let result = (|| {
        let salted = salted.get_mut(..len)?;
        pbkdf2::pbkdf2_hmac::<D>(password, auth.salt, auth.iterations, salted);
        let mut client_key = hmac_of::<D>(salted, &mut |sink| sink(b"Client Key"))?;
        let mut stored_key = D::digest(&client_key);
        let mut client_signature = hmac_of::<D>(&stored_key, &mut |sink| auth.feed(sink))?;
        for ((p, k), s) in proof.iter_mut().zip(&client_key).zip(&client_signature) {
            *p = k ^ s;
        }
        client_key.as_mut_slice().zeroize();
        stored_key.as_mut_slice().zeroize();
        client_signature.as_mut_slice().zeroize();
        let mut server_key = hmac_of::<D>(salted, &mut |sink| sink(b"Server Key"))?;
        let mut signature = hmac_of::<D>(&server_key, &mut |sink| auth.feed(sink))?;
        server_key.as_mut_slice().zeroize();
        server_signature
            .iter_mut()
            .zip(&signature)
            .for_each(|(out, s)| *out = *s);
        signature.as_mut_slice().zeroize();
        Some(len)
    })();
    salted.zeroize();
    result
}

/// Something that feeds a message, in parts, to the sink it is given.
type Feed<'f> = dyn FnMut(&mut dyn FnMut(&[u8])) + 'f;

/// HMAC-`D` keyed with `key` over what `message` feeds it.
fn hmac_of<D: Digest + hmac::EagerHash>(
    key: &[u8],
    message: &mut Feed<'_>,
) -> Option<hmac::digest::Output<Hmac<D>>> {
    let mut mac = <Hmac<D> as KeyInit>::new_from_slice(key).ok()?;
    message(&mut |part| mac.update(part));
    Some(mac.finalize().into_bytes())
}

/// server-first-message: `r=<nonce>,s=<salt>,i=<iterations>[,extensions]`.
#[derive(Debug, PartialEq, Eq)]
struct ServerFirst<'m> {
    nonce: &'m str,
    salt: &'m str,
    iterations: u32,
}

#[derive(Debug, PartialEq, Eq)]
enum ParseError<'m> {
    Malformed(&'static str),
    /// The server sent `e=<text>` instead.
    Rejected(&'m str),
}

fn parse_server_first<'m>(
    text: &'m str,
    client_nonce: &[u8],
) -> Result<ServerFirst<'m>, ParseError<'m>> {
    let mut attributes = text.split(',');
    let first = attributes.next().unwrap_or_default();
    if first.starts_with("m=") {
        return Err(ParseError::Malformed(
            "mandatory extension (m=) not supported",
        ));
    }
    if let Some(error) = first.strip_prefix("e=") {
        return Err(ParseError::Rejected(error));
    }
    let nonce = first
        .strip_prefix("r=")
        .ok_or(ParseError::Malformed("server-first does not start with r="))?;
    if !nonce.as_bytes().starts_with(client_nonce) || nonce.len() <= client_nonce.len() {
        return Err(ParseError::Malformed(
            "server nonce (r=) does not extend the client nonce",
        ));
    }
    if !nonce.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(ParseError::Malformed("server nonce (r=) is not printable"));
    }
    let salt = attributes
        .next()
        .and_then(|a| a.strip_prefix("s="))
        .ok_or(ParseError::Malformed("salt (s=) missing"))?;
    let iterations = attributes
        .next()
        .and_then(|a| a.strip_prefix("i="))
        .ok_or(ParseError::Malformed("iteration count (i=) missing"))?;
    if !iterations.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::Malformed(
            "iteration count (i=) is not a number",
        ));
    }
    let iterations = iterations
        .parse::<u32>()
        .ok()
        .filter(|i| (1..=MAX_ITERATIONS).contains(i))
        .ok_or(ParseError::Malformed(
            "iteration count (i=) is not within 1..=100000",
        ))?;
    Ok(ServerFirst {
        nonce,
        salt,
        iterations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sasl::{SaslClient, State};

    const RFC7677_CLIENT_NONCE: &[u8] = b"rOprNGfwEbeRWgbNEkqO";
    const RFC7677_SERVER_FIRST: &[u8] =
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    const RFC7677_CLIENT_FINAL: &[u8] = b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const RFC7677_SERVER_FINAL: &[u8] = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    fn rfc7677_client(password: &'static str) -> SaslClient {
        let mut client = SaslClient::plain(Credentials {
            username: "user",
            password,
        })
        .unwrap();
        client.mechanism = Mechanism::ScramSha256;
        client.state = State::MessageDue;
        client.scram = Some(Scram::with_nonce(
            Mechanism::ScramSha256,
            RFC7677_CLIENT_NONCE,
        ));
        client
    }

    #[test]
    fn rfc7677_sha256_example_round_trip() {
        let mut client = rfc7677_client("pencil");
        let mut out = [0u8; 256];
        let n = client.next_message(&mut out).unwrap();
        assert_eq!(&out[..n], b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let n = client
            .respond(RFC7677_SERVER_FIRST, &mut out)
            .unwrap()
            .unwrap();
        assert_eq!(&out[..n], RFC7677_CLIENT_FINAL);
        assert_eq!(
            client.respond(RFC7677_SERVER_FINAL, &mut out).unwrap(),
            None
        );
        assert!(client.is_done());
    }

    #[test]
    fn a_wrong_server_signature_is_refused() {
        // A server that does not know the password computes another signature.
        let mut client = rfc7677_client("not-pencil");
        let mut out = [0u8; 256];
        client.next_message(&mut out).unwrap();
        client
            .respond(RFC7677_SERVER_FIRST, &mut out)
            .unwrap()
            .unwrap();
        let err = client.respond(RFC7677_SERVER_FINAL, &mut out).unwrap_err();
        assert_eq!(
            err,
            SaslError::ServerSignatureMismatch {
                mechanism: Mechanism::ScramSha256
            }
        );
        assert!(!client.is_done());
        // Failed is final.
        assert!(matches!(
            client.respond(RFC7677_SERVER_FINAL, &mut out),
            Err(SaslError::State { .. })
        ));
    }

    #[test]
    fn a_server_error_is_surfaced_with_its_text() {
        let mut client = rfc7677_client("pencil");
        let mut out = [0u8; 256];
        client.next_message(&mut out).unwrap();
        client.respond(RFC7677_SERVER_FIRST, &mut out).unwrap();
        let err = client.respond(b"e=invalid-proof", &mut out).unwrap_err();
        assert_eq!(
            crate::display(&err).as_str(),
            "SASL SCRAM-SHA-256 authentication failed: the server rejected the proof: invalid-proof"
        );
    }

    #[test]
    fn user_names_are_escaped() {
        let mut out = [0u8; 64];
        let scram = Scram::with_nonce(Mechanism::ScramSha512, b"abc");
        let n = scram.client_first("a=b,c", &mut out).unwrap();
        assert_eq!(&out[..n], b"n,,n=a=3Db=2Cc,r=abc");
    }

    #[test]
    fn server_first_is_checked() {
        let nonce = b"abc";
        let ok = parse_server_first("r=abcdef,s=c2FsdA==,i=4096,x=ext", nonce).unwrap();
        assert_eq!(ok.iterations, 4096);
        for (text, what) in [
            ("r=abd,s=c2FsdA==,i=4096", "does not extend"),
            ("r=abc,s=c2FsdA==,i=4096", "does not extend"),
            ("r=abcdef,i=4096", "salt"),
            ("r=abcdef,s=c2FsdA==", "iteration count (i=) missing"),
            ("r=abcdef,s=c2FsdA==,i=+5", "not a number"),
            ("r=abcdef,s=c2FsdA==,i=0", "within"),
            ("r=abcdef,s=c2FsdA==,i=100001", "within"),
            ("m=x,r=abcdef,s=c2FsdA==,i=1", "mandatory"),
            ("", "r="),
        ] {
            match parse_server_first(text, nonce) {
                Err(ParseError::Malformed(m)) => assert!(m.contains(what), "{text}: {m}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        assert_eq!(
            parse_server_first("e=unknown-user", nonce),
            Err(ParseError::Rejected("unknown-user"))
        );
    }
}
