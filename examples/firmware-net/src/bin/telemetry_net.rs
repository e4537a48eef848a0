//! The telemetry firmware for QEMU riscv32 `virt` over a real TCP/IP stack:
//!
//! `qemu-system-riscv32 -machine virt -bios none -m 16M -nographic -monitor none
//!  -serial stdio -netdev user,id=n0 -device virtio-net-device,netdev=n0 -kernel telemetry-net`
//!
//! The guest is 10.0.2.15/24 behind QEMU's user networking, whose gateway 10.0.2.2 is the
//! host (a connection to 10.0.2.2:PORT reaches host 127.0.0.1:PORT). It runs the job of
//! examples/firmware with a connection per broker through smoltcp, to the bootstrap broker
//! fixed at build time (`NANOKAFKA_FW_BROKER`, build.rs) and then to whatever address
//! Metadata advertises; prints the result line ([`nanokafka_firmware::report`], plus
//! `bootstrap=`, `connect_error=` when a connection failed, `stack_peak=`, `stack_size=`)
//! on the UART and exits 0 (every reading read back intact) or 1.
//!
//! With feature `tls` it talks SASL_SSL ([`nanokafka_firmware_net::tls`]): TLS 1.3 to every
//! broker, whose certificate must chain to the CA fixed at build time and carry the
//! configured name, then SASL PLAIN, or SCRAM-SHA-256/512 with feature `scram` (build.rs
//! names the settings); key shares and SCRAM nonces come from a ChaCha20 generator seeded
//! by the board's virtio-rng device (QEMU `-device virtio-rng-device`). The result line
//! names the mechanism (`sasl=`); a failed handshake adds `tls_error=`.
#![no_std]
#![no_main]

use embedded_io::{ErrorKind, Write};
use nanokafka::client::{ClusterConfig, ConnectionConfig};
use nanokafka_firmware::exit::exit;
use nanokafka_firmware::job::{self, Failure, Job, Summary};
use nanokafka_firmware::ns16550::{Ns16550, UART0};
use nanokafka_firmware::report::Report;
use nanokafka_firmware::stack;
use nanokafka_firmware_net::mtime::Mtime;
#[cfg(not(feature = "tls"))]
use nanokafka_firmware_net::smoltcp_io::TcpConnector;
use nanokafka_firmware_net::smoltcp_io::{Stack, StreamConfig};
use nanokafka_firmware_net::virtio::{self, VirtioNet};
use smoltcp::iface::{Config, Interface, SocketSet};
use smoltcp::socket::tcp::{Socket, SocketBuffer};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Address};

/// QEMU user networking: the guest's address and the gateway, which is the host.
const GUEST: Ipv4Address = Ipv4Address::new(10, 0, 2, 15);
const GATEWAY: Ipv4Address = Ipv4Address::new(10, 0, 2, 2);
/// The bootstrap broker, `host:port` (build.rs).
const BROKER: &str = include_str!(concat!(env!("OUT_DIR"), "/broker"));
/// Broker connections open at once: one TCP socket each.
const LINKS: usize = 2;

const JOB: Job<'static> = Job::telemetry(ClusterConfig {
    bootstrap: BROKER,
    connection: ConnectionConfig {
        client_id: Some("nanokafka-fw-net"),
        request_timeout_ms: 5_000,
    },
    // A topic created a moment ago has no leader for a while: up to 4 s of retries (also
    // how long a broker that refuses connections is tried), 10 s for a produce.
    send_attempts: 50,
    receive_attempts: 20,
    retry_backoff_ms: 200,
    ..ClusterConfig::new("")
});

/// The network stack of this board.
type Net = Stack<'static, VirtioNet, Mtime>;

const STREAMS: StreamConfig = StreamConfig {
    connect_timeout_ms: 2_000,
    read_timeout_ms: 50,
    write_timeout_ms: 5_000,
};

/// The caller's buffers: the job's, the device's frames, the sockets' (the size report
/// finds them by this module's name).
mod buffers {
    use nanokafka_firmware::job::{Buffers, MAX_BATCH, TEXT_SLOT};
    use nanokafka_firmware_net::virtio::FRAME;
    use smoltcp::iface::SocketStorage;

    /// Bytes of each TCP socket's receive and send buffer.
    const TCP_BUFFER: usize = 2048;

    static mut IO: [u8; 4096] = [0; 4096];
    static mut METADATA: [u8; 512] = [0; 512];
    static mut TEXTS: [u8; MAX_BATCH * TEXT_SLOT] = [0; MAX_BATCH * TEXT_SLOT];
    static mut RX_FRAME: [u8; FRAME] = [0; FRAME];
    static mut TX_FRAME: [u8; FRAME] = [0; FRAME];
    static mut SOCKETS: [SocketStorage<'static>; super::LINKS] =
        [SocketStorage::EMPTY; super::LINKS];
    /// The network stack itself (interface, device, sockets: about 2 KiB), here rather than
    /// on the stack.
    static mut NET: Option<super::Net> = None;
    static mut TCP: [[[u8; TCP_BUFFER]; 2]; super::LINKS] = [[[0; TCP_BUFFER]; 2]; super::LINKS];
    /// One pair of TLS record buffers per link.
    #[cfg(feature = "tls")]
    pub static mut RECORDS: nanokafka_firmware_net::tls::RecordBuffers<{ super::LINKS }> =
        nanokafka_firmware_net::tls::RecordBuffers::new();

    /// What the network stack runs in.
    pub struct Network {
        /// The device's receive and transmit frames.
        pub frames: (&'static mut [u8; FRAME], &'static mut [u8; FRAME]),
        /// Socket slots.
        pub sockets: &'static mut [SocketStorage<'static>],
        /// Each socket's receive and send buffer.
        pub tcp: &'static mut [[[u8; TCP_BUFFER]; 2]; super::LINKS],
        /// Room for the stack itself.
        pub stack: &'static mut Option<super::Net>,
    }

    /// The job's buffers and the network's.
    ///
    /// # Safety
    /// Call once: the references must be the only ones.
    pub unsafe fn take() -> (Buffers<'static>, Network) {
        let (io, metadata, texts) = (&raw mut IO, &raw mut METADATA, &raw mut TEXTS);
        let (rx, tx) = (&raw mut RX_FRAME, &raw mut TX_FRAME);
        let (sockets, tcp, stack) = (&raw mut SOCKETS, &raw mut TCP, &raw mut NET);
        // SAFETY: the caller calls this once; nothing else names these statics.
        unsafe {
            (
                Buffers {
                    io: &mut *io,
                    metadata: &mut *metadata,
                    texts: &mut *texts,
                },
                Network {
                    frames: (&mut *rx, &mut *tx),
                    sockets: &mut *sockets,
                    tcp: &mut *tcp,
                    stack: &mut *stack,
                },
            )
        }
    }
}

#[riscv_rt::entry]
fn main() -> ! {
    let (bottom, top) = stack::riscv_rt_region();
    // SAFETY: riscv-rt's stack region; no interrupts are enabled.
    unsafe { stack::paint_below(bottom) };
    let clock = Mtime;
    // SAFETY: main runs once.
    let (job_buffers, network) = unsafe { buffers::take() };
    // Entropy first: its device borrows DMA pages the network device then takes.
    #[cfg(feature = "tls")]
    let seed = sasl_ssl::seed();
    let Some(stack) = start_network(network, clock) else {
        finish(false, "nanokafka-fw fail device=no-virtio-net\n");
    };
    #[cfg(not(feature = "tls"))]
    let (outcome, connect_error) = {
        let mut connector = TcpConnector::new(stack, STREAMS);
        let outcome = job::run::<_, _, LINKS>(&mut connector, clock, &JOB, job_buffers);
        (outcome, connector.last_error())
    };
    #[cfg(feature = "tls")]
    let (outcome, connect_error, tls_error) = {
        let mut connector = sasl_ssl::connector(stack, seed);
        let outcome = job::run::<_, _, LINKS>(&mut connector, clock, &JOB, job_buffers);
        let tls_error = connector.last_tls_error();
        (outcome, connector.last_connect_error(), tls_error)
    };

    // SAFETY: the region painted above.
    let peak = unsafe { stack::peak(bottom.cast_const(), top) };
    let stack_size = (top as usize).saturating_sub(bottom as usize);
    report(
        &outcome,
        connect_error,
        #[cfg(feature = "tls")]
        tls_error,
        peak,
        stack_size,
    )
}

/// Prints the result line and exits. Not inlined: the line's buffer then takes no room in
/// `main`'s frame while the job runs.
#[inline(never)]
fn report(
    outcome: &Result<Summary, Failure>,
    connect_error: Option<ErrorKind>,
    #[cfg(feature = "tls")] tls_error: Option<embedded_tls::blocking::TlsError>,
    stack_peak: usize,
    stack_size: usize,
) -> ! {
    let mut report = Report::new(&JOB, outcome);
    report.text(" bootstrap=", BROKER);
    if let Some(error) = connect_error {
        report.text(" connect_error=", kind_name(error));
    }
    #[cfg(feature = "tls")]
    report.text(" sasl=", sasl_ssl::MECHANISM.name());
    #[cfg(feature = "tls")]
    if let Some(error) = tls_error {
        report.text(" tls_error=", sasl_ssl::error_name(error));
    }
    report.num("stack_peak", stack_peak);
    report.num("stack_size", stack_size);
    finish(outcome.is_ok(), report.line())
}

/// SASL_SSL: the settings fixed at build time (build.rs), the record buffers, the entropy.
#[cfg(feature = "tls")]
mod sasl_ssl {
    use super::{finish, Mtime, Net, LINKS, STREAMS};
    use embedded_tls::blocking::{TlsClock, TlsError};
    use nanokafka::client::Clock;
    use nanokafka::sasl::{Credentials, Mechanism};
    use nanokafka_firmware::reading::EPOCH_MS;
    use nanokafka_firmware_net::smoltcp_io::TcpConnector;
    use nanokafka_firmware_net::tls::{tls_streams, TlsConnector, TlsSettings};
    use nanokafka_firmware_net::virtio;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    const _: () = assert!(
        env!("NANOKAFKA_FW_TLS_MISSING").is_empty(),
        "feature tls needs NANOKAFKA_FW_CA, NANOKAFKA_FW_TLS_NAME, NANOKAFKA_FW_SASL_USER and \
         NANOKAFKA_FW_SASL_PASSWORD (build.rs)"
    );

    /// `NANOKAFKA_FW_SASL_MECHANISM` (build.rs).
    pub const MECHANISM: Mechanism = include!(concat!(env!("OUT_DIR"), "/sasl_mechanism.rs"));

    const SETTINGS: TlsSettings<'static> = TlsSettings {
        ca: include_bytes!(concat!(env!("OUT_DIR"), "/ca.der")),
        server_name: include_str!(concat!(env!("OUT_DIR"), "/tls_name")),
        mechanism: MECHANISM,
        credentials: Credentials {
            username: include_str!(concat!(env!("OUT_DIR"), "/sasl_user")),
            password: include_str!(concat!(env!("OUT_DIR"), "/sasl_password")),
        },
    };

    /// Unix time: the build's epoch plus the uptime, for certificate validity periods.
    pub struct WallClock;

    impl TlsClock for WallClock {
        fn now() -> Option<u64> {
            let epoch_ms = u64::try_from(EPOCH_MS).ok()?;
            Some(epoch_ms.saturating_add(Mtime.now_ms()) / 1000)
        }
    }

    /// The connector of the job.
    pub type Connector = TlsConnector<
        'static,
        'static,
        super::virtio::VirtioNet,
        Mtime,
        ChaCha20Rng,
        WallClock,
        LINKS,
    >;

    /// The random generator's seed from the board's entropy device; ends the run without
    /// one. Before the network starts (`virtio::entropy`).
    pub fn seed() -> [u8; 32] {
        // SAFETY: called once, before the network device is set up.
        let Some(seed) = (unsafe { virtio::entropy::<32>() }) else {
            finish(false, "nanokafka-fw fail device=no-virtio-rng\n");
        };
        seed
    }

    /// The SASL_SSL connector over `stack`, its generator seeded with `seed`. Not inlined,
    /// like `start_network`.
    #[inline(never)]
    pub fn connector(stack: &'static Net, seed: [u8; 32]) -> Connector {
        let streams = tls_streams(STREAMS, super::JOB.cluster.connection.request_timeout_ms);
        let records = &raw const super::buffers::RECORDS;
        // SAFETY: called once; nothing else names RECORDS.
        let records = unsafe { &*records };
        TlsConnector::new(
            TcpConnector::new(stack, streams),
            records,
            SETTINGS,
            ChaCha20Rng::from_seed(seed),
        )
    }

    /// A TLS failure by name, for the result line.
    pub fn error_name(error: TlsError) -> &'static str {
        match error {
            TlsError::InvalidCertificate => "invalid-certificate",
            TlsError::InvalidSignature => "invalid-signature",
            TlsError::HandshakeAborted(..) => "aborted-by-broker",
            TlsError::Io(_) => "io",
            _ => "other",
        }
    }
}

/// Brings up the virtio-net device and the interface (10.0.2.15/24, default route through
/// 10.0.2.2) with one TCP socket per link, in `network`; `None` without a network device.
/// Not inlined: its temporaries (an `Interface` is about 1 KiB) leave the stack before the
/// job runs.
#[inline(never)]
fn start_network(network: buffers::Network, clock: Mtime) -> Option<&'static Net> {
    // SAFETY: called once; the driver owns the device from here on.
    let driver = unsafe { virtio::find_net() }?;
    let (rx, tx) = network.frames;
    let mut device = VirtioNet::new(driver, rx, tx);
    let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(
        device.mac_address(),
    )));
    config.random_seed = clock.ticks();
    let mut iface = Interface::new(config, &mut device, Instant::from_millis(0));
    iface.update_ip_addrs(|addresses| {
        let _ = addresses.push(IpCidr::new(GUEST.into(), 24));
    });
    let _ = iface.routes_mut().add_default_ipv4_route(GATEWAY);
    let mut sockets = SocketSet::new(network.sockets);
    for [rx, tx] in network.tcp.iter_mut() {
        sockets.add(Socket::new(
            SocketBuffer::new(&mut rx[..]),
            SocketBuffer::new(&mut tx[..]),
        ));
    }
    let port_seed = clock.ticks() as u16;
    Some(
        network
            .stack
            .insert(Stack::new(iface, device, clock, sockets, port_seed)),
    )
}

/// The connect failures a [`TcpConnector`] reports, by name.
fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ConnectionRefused => "refused",
        ErrorKind::TimedOut => "timeout",
        ErrorKind::InvalidInput => "bad-address",
        ErrorKind::OutOfMemory => "no-socket",
        _ => "other",
    }
}

/// Prints `line` on the UART and ends QEMU with status 0 or 1.
fn finish(ok: bool, line: &str) -> ! {
    // SAFETY: UART0 is this board's, used by nothing else.
    let mut uart = unsafe { Ns16550::new(UART0) };
    let _ = uart.write(line.as_bytes()); // writes all of it; nothing to report a failure to
    exit(ok)
}

/// An exception (a bad address, an illegal instruction) ends the run with its cause rather
/// than riscv-rt's default endless loop.
#[export_name = "ExceptionHandler"]
fn exception_handler(_frame: &riscv_rt::TrapFrame) -> ! {
    let mut report = Report::starting("nanokafka-fw fail exception");
    report.num("mcause", riscv::register::mcause::read().bits());
    report.num("mepc", riscv::register::mepc::read());
    finish(false, report.line())
}
