//! The CLI on a broker that never answers: metadata, offsets and consume give up within 6 s
//! (kcat's `-m 5` and a margin) naming what timed out, the connect or a request (before: 21 s,
//! 4 attempts × 5 s, and "connecting to …: request timed out" although the connect had
//! succeeded); produce retries until its delivery timeout and then names it. A broker that
//! goes silent on Fetch after answering metadata and offsets ends consume within the same
//! bound (the pipelined consumer's fetcher itself retries a timed-out fetch for as long as it
//! is retriable: 96 s here without the bound).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::FromRawFd;
use std::process::{Command, Output};
use std::time::Duration;

/// Accepts every connection and never writes a byte.
fn silent_broker() -> (SocketAddr, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let accept = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(64) {
            held.push(stream); // kept open, never answered
        }
    });
    (address, accept)
}

/// A listener whose accept queue is full (backlog 0 and one connection waiting): the kernel
/// drops further SYNs, so a connect never completes.
fn unaccepting_broker() -> (SocketAddr, TcpListener, TcpStream) {
    // SAFETY: a fresh socket handed to TcpListener, which owns (and closes) it.
    let listener = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0, "socket");
        let listener = TcpListener::from_raw_fd(fd);
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes([127, 0, 0, 1]),
            },
            sin_zero: [0; 8],
        };
        let bound = libc::bind(
            fd,
            std::ptr::addr_of!(addr).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        assert_eq!(bound, 0, "bind");
        assert_eq!(libc::listen(fd, 0), 0, "listen");
        listener
    };
    let address = listener.local_addr().unwrap();
    let queued = TcpStream::connect(address).unwrap();
    (address, listener, queued)
}

fn nanokafka(args: &[&str], stdin: &[u8]) -> (Output, Duration) {
    nanokafka_tests::run_cli(Command::new(nanokafka_tests::cli_binary()), args, stdin)
}

/// Each reading command against `address` fails within 6 s with `expected` in its message.
fn reads_give_up(address: SocketAddr, expected: &str) {
    let address = address.to_string();
    let runs: Vec<_> = [
        vec!["metadata"],
        vec!["offsets", "-t", "t"],
        vec!["consume", "-t", "t"],
        vec!["-C", "-t", "t", "-e"],
        vec!["-L"],
    ]
    .into_iter()
    .map(|command| {
        let address = address.clone();
        std::thread::spawn(move || {
            let mut args = vec!["-b", &address];
            args.extend(&command);
            let (out, took) = nanokafka(&args, b"");
            (command.join(" "), out, took)
        })
    })
    .collect();
    for run in runs {
        let (command, out, took) = run.join().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{command}: {stderr}");
        assert!(
            took <= Duration::from_secs(6),
            "{command}: gave up after {took:?}: {stderr}"
        );
        assert!(stderr.contains(expected), "{command}: {stderr}");
        assert!(stderr.contains(&address), "{command}: {stderr}");
    }
}

#[test]
fn reads_give_up_on_a_broker_that_accepts_and_never_answers() {
    let (address, _accept) = silent_broker();
    reads_give_up(address, "metadata from");
    reads_give_up(address, "request timed out");
}

#[test]
fn reads_give_up_on_a_broker_that_never_accepts() {
    let (address, _listener, _queued) = unaccepting_broker();
    reads_give_up(address, "connection timed out");
}

#[test]
fn produce_retries_until_its_delivery_timeout_and_names_it() {
    let (silent, _accept) = silent_broker();
    let (unaccepting, _listener, _queued) = unaccepting_broker();
    for (address, cause) in [
        (silent, "request timed out"),
        (unaccepting, "connection timed out"),
    ] {
        let address = address.to_string();
        let (out, took) = nanokafka(
            &[
                "-b",
                &address,
                "-X",
                "delivery.timeout.ms=3000",
                "produce",
                "-t",
                "t",
            ],
            b"one\n",
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(
            took >= Duration::from_millis(2800) && took <= Duration::from_secs(5),
            "retried for its delivery timeout (3 s), not more: {took:?}: {stderr}"
        );
        assert!(
            stderr.contains("delivery timeout (3000 ms") && stderr.contains(cause),
            "{stderr}"
        );
    }
}

/// A broker that answers metadata and offsets and then goes silent on Fetch: consume gives up
/// within the same bound, naming the fetch that timed out.
#[test]
fn consume_gives_up_when_the_broker_goes_silent_on_fetch() {
    use nanokafka::protocol::ApiKey;
    use nanokafka_tests::fault_proxy::{Fault, ProxiedBroker};
    let broker = ProxiedBroker::mock();
    let _guard = broker.exclusive();
    broker.create_topic("silent-fetch");
    let b = broker.bootstrap();
    let (out, _) = nanokafka(
        &["-b", &b, "-q", "produce", "-t", "silent-fetch", "-p", "0"],
        b"one\ntwo\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    broker
        .proxy
        .inject(Fault::silence().api(ApiKey::Fetch).times(usize::MAX));
    let (out, took) = nanokafka(&["-b", &b, "consume", "-t", "silent-fetch"], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        took <= Duration::from_secs(6),
        "gave up after {took:?}: {stderr}"
    );
    assert!(stderr.contains("timed out"), "{stderr}");
    assert!(out.stdout.is_empty(), "{stderr}");
}
