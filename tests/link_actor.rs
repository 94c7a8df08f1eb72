//! The link actor against devices on loopback TCP, on a socat pty pair and
//! a real `meterscope serve`: a read dropped mid-flight leaves the link
//! disconnected and the next answer is the right one; commands are taken
//! while the link backs off; polls come back as typed data.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use common::{Running, assert_close, binary, peers, pty_pair_in};
use meterscope::modbus::actor::{
    BusId, JOB_QUEUE, LinkCommand, LinkEvent, LinkHandle, SendError, WireState,
};
use meterscope::modbus::link::{LinkError, Table, Target};
use meterscope::modbus::map::RegisterMap;
use meterscope::modbus::tap::push_crc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Notify, mpsc, oneshot};

/// A device whose answer to its n-th request (over every connection) is
/// the one register n, and which holds its first answer until released.
struct SlowFirst {
    /// The number of each request as it arrives.
    requests: mpsc::UnboundedReceiver<u16>,
    release: Arc<Notify>,
    /// Says the held first answer has been written.
    late_answer_written: mpsc::UnboundedReceiver<()>,
}

struct DeviceSide {
    count: Arc<AtomicU16>,
    requests: mpsc::UnboundedSender<u16>,
    release: Arc<Notify>,
    written: mpsc::UnboundedSender<()>,
}

fn slow_first() -> (SlowFirst, DeviceSide) {
    let (requests_tx, requests) = mpsc::unbounded_channel();
    let (written, late_answer_written) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    (
        SlowFirst {
            requests,
            release: Arc::clone(&release),
            late_answer_written,
        },
        DeviceSide {
            count: Arc::new(AtomicU16::new(0)),
            requests: requests_tx,
            release,
            written,
        },
    )
}

impl DeviceSide {
    fn clone_side(&self) -> DeviceSide {
        DeviceSide {
            count: Arc::clone(&self.count),
            requests: self.requests.clone(),
            release: Arc::clone(&self.release),
            written: self.written.clone(),
        }
    }

    /// Answers requests on `wire` until it closes; `rtu` picks the framing.
    async fn serve(self, mut wire: impl AsyncRead + AsyncWrite + Unpin, rtu: bool) {
        let mut request = vec![0u8; if rtu { 8 } else { 12 }];
        while wire.read_exact(&mut request).await.is_ok() {
            let n = self.count.fetch_add(1, Ordering::SeqCst) + 1;
            let _ = self.requests.send(n);
            if n == 1 {
                self.release.notified().await;
            }
            let [hi, lo] = n.to_be_bytes();
            let answer = if rtu {
                let mut frame = vec![request[0], 0x03, 2, hi, lo];
                push_crc(&mut frame);
                frame
            } else {
                vec![
                    request[0], request[1], 0, 0, 0, 5, request[6], 0x03, 2, hi, lo,
                ]
            };
            let wrote = wire.write_all(&answer).await.is_ok();
            if n == 1 {
                let _ = self.written.send(());
            }
            if !wrote {
                break;
            }
        }
    }
}

async fn wait_for_event(
    events: &mut mpsc::Receiver<LinkEvent>,
    seen: &mut Vec<LinkEvent>,
    wanted: impl Fn(&LinkEvent) -> bool,
) -> LinkEvent {
    // A guard against a hang, not a limit on speed: a regression fails.
    let waiting = async {
        loop {
            let event = events.recv().await.expect("the actor is running");
            seen.push(event.clone());
            if wanted(&event) {
                return event;
            }
        }
    };
    match tokio::time::timeout(HANG, waiting).await {
        Ok(event) => event,
        Err(_) => panic!("no such event within {HANG:?}"),
    }
}

/// Long past anything the tests wait for, short of a test run hanging.
const HANG: Duration = Duration::from_secs(60);

fn tcp(port: u16) -> Target {
    format!("tcp://127.0.0.1:{port}").parse().unwrap()
}

/// A TCP target nothing listens on.
fn refusing() -> Target {
    tcp(closed_port())
}

/// One register read, its answer to come on the receiver.
fn read_command() -> (LinkCommand, oneshot::Receiver<Result<Vec<u16>, LinkError>>) {
    let (reply, answer) = oneshot::channel();
    let command = LinkCommand::Read {
        unit: 1,
        table: Table::Holding,
        address: 0,
        count: 1,
        reply,
    };
    (command, answer)
}

/// Sends a one-register read and gives back where its answer comes.
async fn send_read(link: &LinkHandle) -> oneshot::Receiver<Result<Vec<u16>, LinkError>> {
    let (command, answer) = read_command();
    link.send(command).await.unwrap();
    answer
}

/// Waits for the error a read dropped mid-flight raises.
async fn wait_for_dropped_read(events: &mut mpsc::Receiver<LinkEvent>, seen: &mut Vec<LinkEvent>) {
    wait_for_event(events, seen, |e| {
        matches!(e, LinkEvent::Error(LinkError::Io { reason, .. })
            if reason.message == "a request was dropped before its answer came")
    })
    .await;
}

async fn shut_down(
    link: &LinkHandle,
    events: &mut mpsc::Receiver<LinkEvent>,
    seen: &mut Vec<LinkEvent>,
) {
    link.send(LinkCommand::Shutdown).await.unwrap();
    wait_for_event(events, seen, |e| *e == LinkEvent::Stopped).await;
}

fn assert_refused(result: Result<Vec<u16>, LinkError>) {
    match result {
        Err(LinkError::Connect { reason, .. }) => {
            assert_eq!(reason.kind, Some(std::io::ErrorKind::ConnectionRefused))
        }
        other => panic!("{other:?}"),
    }
}

/// Asks the link to poll unit 1 with the powerlogic profile every `every`.
async fn poll_powerlogic(link: &LinkHandle, every: Duration) -> Arc<RegisterMap> {
    let map = Arc::new(RegisterMap::load("powerlogic").unwrap());
    link.send(LinkCommand::Poll {
        map: Arc::clone(&map),
        unit: 1,
        every,
    })
    .await
    .unwrap();
    map
}

/// A socat pty pair in a directory of its own: the directory, the pair,
/// the link's end, and the device's end opened at 19200 baud. None where
/// socat is missing.
fn serial_line() -> Option<(
    tempfile::TempDir,
    Running,
    String,
    tokio_serial::SerialStream,
)> {
    if !peers(&["socat"]) {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let (pair, ours, theirs) = pty_pair_in(dir.path());
    let port = tokio_serial::SerialStream::open(&tokio_serial::new(&theirs, 19200))
        .expect("open the device's end");
    Some((dir, pair, ours, port))
}

/// Starts a read, drops it once its request is on the wire, lets the
/// device's late answer to it come, and reads twice more: the answers are
/// those of the second and third requests, over a new connection.
async fn a_dropped_read_leaves_the_link_disconnected(target: Target, mut device: SlowFirst) {
    let (events_tx, mut events) = mpsc::channel(64);
    let link = LinkHandle::spawn(target, events_tx);
    let answer = send_read(&link).await;
    assert_eq!(device.requests.recv().await, Some(1));
    drop(answer);
    let mut seen = Vec::new();
    wait_for_dropped_read(&mut events, &mut seen).await;
    device.release.notify_one();
    device.late_answer_written.recv().await.unwrap();

    let second = link.read(1, Table::Holding, 0, 1).await.unwrap();
    assert_eq!(second, Ok(vec![2]), "{seen:?}");
    assert_eq!(device.requests.recv().await, Some(2));
    let third = link.read(1, Table::Holding, 0, 1).await.unwrap();
    assert_eq!(third, Ok(vec![3]));

    let stats = link.stats.borrow().clone();
    assert_eq!(
        (
            stats.requests,
            stats.responses,
            stats.reconnects,
            stats.timeouts,
            stats.mismatches
        ),
        (3, 2, 1, 0, 0),
        "{stats:?}"
    );
    wait_for_event(&mut events, &mut seen, |e| *e == LinkEvent::Reconnected).await;
    assert_eq!(seen[0], LinkEvent::Connected, "{seen:?}");
    shut_down(&link, &mut events, &mut seen).await;
}

#[tokio::test]
async fn a_dropped_read_on_tcp_leaves_the_link_disconnected() {
    let (port, device) = holding_device().await;
    let target = tcp(port);
    assert_eq!(BusId::of(&target), BusId(format!("127.0.0.1:{port}")));
    a_dropped_read_leaves_the_link_disconnected(target, device).await;
}

#[tokio::test]
async fn a_dropped_read_on_an_rtu_line_leaves_the_link_disconnected() {
    let Some((_dir, _pair, ours, port)) = serial_line() else {
        return;
    };
    let (device, side) = slow_first();
    tokio::spawn(side.serve(port, true));
    let target: Target = format!("rtu://{ours}?baud=19200&parity=none")
        .parse()
        .unwrap();
    assert_eq!(BusId::of(&target), BusId(ours.clone()));
    a_dropped_read_leaves_the_link_disconnected(target, device).await;
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_refused_connection_keeps_its_kind() {
    let target = refusing();
    let (events_tx, _events) = mpsc::channel(64);
    let link = LinkHandle::spawn(target, events_tx);
    assert_refused(link.read(1, Table::Holding, 0, 1).await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("ttyUSB9");
    let target: Target = format!("rtu://{}", absent.display()).parse().unwrap();
    let (events_tx, _events) = mpsc::channel(64);
    let link = LinkHandle::spawn(target, events_tx);
    match link.read(1, Table::Holding, 0, 1).await.unwrap() {
        Err(LinkError::Connect { reason, .. }) => {
            assert_eq!(reason.kind, Some(std::io::ErrorKind::NotFound), "{reason}");
            assert!(reason.message.contains("ttyUSB9"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

/// On paused time the clock moves only when every task waits, so "before
/// the backoff ended" is exact, not a race with the machine's load.
#[tokio::test(start_paused = true)]
async fn commands_are_taken_while_the_link_backs_off() {
    let target = refusing();
    let (events_tx, mut events) = mpsc::channel(256);
    let link = LinkHandle::spawn(target, events_tx);
    let map = poll_powerlogic(&link, Duration::from_millis(250)).await;
    let mut seen = Vec::new();
    let mut waits = Vec::new();
    let mut polls = 0;
    // The backoff doubles from 100 ms to its ceiling, past the interval:
    // polls then wait on it.
    let until = loop {
        match wait_for_event(&mut events, &mut seen, |e| {
            matches!(e, LinkEvent::BackingOff { .. } | LinkEvent::Polled { .. })
        })
        .await
        {
            LinkEvent::Polled { poll, .. } => {
                polls += 1;
                assert_eq!(poll.coverage.read, 0);
                assert_eq!(poll.errors.len(), 1, "{poll:?}");
                assert!(matches!(poll.errors[0].error, LinkError::Connect { .. }));
                assert_eq!(poll.errors[0].not_asked, map.reads().len() - 1);
            }
            LinkEvent::BackingOff { until, error } => {
                assert!(matches!(error, LinkError::Connect { .. }), "{error}");
                let now = tokio::time::Instant::now().into_std();
                waits.push(until.saturating_duration_since(now));
                if until.saturating_duration_since(now) >= Duration::from_secs(1) {
                    break until;
                }
            }
            _ => unreachable!(),
        }
    };
    assert!(polls >= 4, "{seen:?}");
    assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");

    let before_backoff_ends = || tokio::time::Instant::now().into_std() < until;
    link.send(LinkCommand::Pause).await.unwrap();
    wait_for_event(&mut events, &mut seen, |e| *e == LinkEvent::Paused).await;
    assert!(before_backoff_ends());
    link.send(LinkCommand::Resume).await.unwrap();
    wait_for_event(&mut events, &mut seen, |e| *e == LinkEvent::Resumed).await;
    assert!(before_backoff_ends());
    // A read asked while backing off waits for the backoff, then is tried.
    let tried = tokio::time::timeout(HANG, link.read(1, Table::Holding, 0, 1))
        .await
        .expect("the read is answered")
        .unwrap();
    assert!(!before_backoff_ends());
    assert_refused(tried);
    let until = match wait_for_event(&mut events, &mut seen, |e| {
        matches!(e, LinkEvent::BackingOff { .. })
    })
    .await
    {
        LinkEvent::BackingOff { until, .. } => until,
        _ => unreachable!(),
    };
    let before_backoff_ends = || tokio::time::Instant::now().into_std() < until;
    let mut answer = send_read(&link).await;
    shut_down(&link, &mut events, &mut seen).await;
    assert!(before_backoff_ends());
    // Shut down before it was tried: the read is answered by no one.
    assert!(answer.try_recv().is_err());
    assert_eq!(link.stats.borrow().requests, 0);
}

/// `meterscope serve` on a free port, with pf 0.9 and 5 % third harmonic.
fn serve() -> (Running, u16) {
    let mut child = Command::new(binary())
        .args([
            "serve",
            "--tcp",
            "127.0.0.1:0",
            "--pf",
            "0.9",
            "--harmonics",
            "3:5",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start meterscope serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    let port = line
        .trim()
        .strip_prefix("listening tcp 127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("first line: {line:?}"));
    (Running(child), port)
}

#[tokio::test]
async fn polls_come_back_as_typed_values_from_meter_core() {
    let (_server, port) = serve();
    let (events_tx, mut events) = mpsc::channel(64);
    let link = LinkHandle::spawn(tcp(port), events_tx);
    let map = poll_powerlogic(&link, Duration::from_millis(50)).await;
    let mut seen = Vec::new();
    // The meter answers NaN until its first window is measured.
    let mut polls = 0;
    let poll = loop {
        let LinkEvent::Polled { at, poll } = wait_for_event(&mut events, &mut seen, |e| {
            matches!(e, LinkEvent::Polled { .. })
        })
        .await
        else {
            unreachable!()
        };
        assert!(at <= std::time::Instant::now());
        polls += 1;
        assert!(polls < 400, "no reading in 400 polls");
        if poll.number("voltage_an").is_some_and(|v| !v.is_nan()) {
            break poll;
        }
    };
    assert_eq!(seen[0], LinkEvent::Connected);
    assert!(poll.errors.is_empty(), "{:?}", poll.errors);
    let blocks = map.reads().len() as u64;
    assert_eq!((poll.coverage.asked, poll.coverage.read), (blocks, blocks));
    let voltage = 230.0 * (1.0f64 + 0.05 * 0.05).sqrt();
    let phi = 0.9f64.acos();
    let power_kw = (230.0 * 100.0 * 0.9 + 11.5 * 5.0 * (3.0 * phi).cos()) / 1000.0;
    assert_close(poll.number("voltage_an").unwrap(), voltage, 0.01, "V A-N");
    assert_close(
        poll.number("active_power_total").unwrap(),
        3.0 * power_kw,
        0.03,
        "total P",
    );
    assert_close(poll.number("frequency").unwrap(), 50.0, 0.005, "frequency");
    assert_close(poll.number("thd_voltage_an").unwrap(), 5.0, 0.01, "THD V");
    assert_eq!(poll.text("meter_name"), Some("meter-core"));

    // The stats follow the polls, and a reconnect asked is done at once.
    let requests = link.stats.borrow().requests;
    assert!(requests >= blocks * polls, "{requests} after {polls} polls");
    link.send(LinkCommand::Reconnect).await.unwrap();
    wait_for_event(&mut events, &mut seen, |e| *e == LinkEvent::Reconnected).await;
    assert!(link.stats.borrow().reconnects >= 1);
    // Every frame of every poll went through the tap.
    let frames = link.tap.since(&mut link.tap.cursor()).frames;
    assert!(
        frames.len() as u64 >= 2 * blocks * polls,
        "{}",
        frames.len()
    );
    shut_down(&link, &mut events, &mut seen).await;
}

#[tokio::test]
async fn a_reconnect_asked_mid_exchange_drops_the_request_with_its_connection() {
    let (port, mut device) = holding_device().await;
    let (events_tx, mut events) = mpsc::channel(64);
    let link = LinkHandle::spawn(tcp(port), events_tx);
    let answer = send_read(&link).await;
    assert_eq!(device.requests.recv().await, Some(1));
    link.send(LinkCommand::Reconnect).await.unwrap();
    match answer.await.unwrap() {
        Err(LinkError::Io { reason, .. }) => {
            assert_eq!(reason.message, "the read was dropped to connect again")
        }
        other => panic!("{other:?}"),
    }
    let mut seen = Vec::new();
    wait_for_event(&mut events, &mut seen, |e| *e == LinkEvent::Reconnected).await;
    device.release.notify_one();
    device.late_answer_written.recv().await.unwrap();
    assert_eq!(
        link.read(1, Table::Holding, 0, 1).await.unwrap(),
        Ok(vec![2])
    );
    let stats = link.stats.borrow().clone();
    assert_eq!(
        (stats.requests, stats.responses, stats.reconnects),
        (2, 1, 1)
    );
}

/// A meter on a serial line that answers its first request late, yet
/// within the link's timeout: `late` after it, or at once when another
/// request comes first (a line has no ids to tell the answers apart).
async fn late_first_answer(
    port: tokio_serial::SerialStream,
    late: Duration,
    seen: mpsc::UnboundedSender<u16>,
) {
    let (mut from_line, mut to_line) = tokio::io::split(port);
    let (requests_tx, mut requests) = mpsc::unbounded_channel::<[u8; 8]>();
    tokio::spawn(async move {
        let mut request = [0u8; 8];
        while from_line.read_exact(&mut request).await.is_ok() {
            if requests_tx.send(request).is_err() {
                break;
            }
        }
    });
    let answer = |request: [u8; 8], n: u16| {
        let [hi, lo] = n.to_be_bytes();
        let mut frame = vec![request[0], 0x03, 2, hi, lo];
        push_crc(&mut frame);
        frame
    };
    let mut n = 0u16;
    while let Some(request) = requests.recv().await {
        n += 1;
        let _ = seen.send(n);
        let mut next = None;
        if n == 1 {
            tokio::select! {
                request = requests.recv() => next = request,
                () = tokio::time::sleep(late) => {}
            }
        }
        if to_line.write_all(&answer(request, n)).await.is_err() {
            break;
        }
        if let Some(request) = next {
            n += 1;
            let _ = seen.send(n);
            if to_line.write_all(&answer(request, n)).await.is_err() {
                break;
            }
        }
    }
}

#[tokio::test]
async fn a_late_answer_on_an_rtu_line_is_not_taken_for_the_next() {
    let Some((_dir, _pair, ours, port)) = serial_line() else {
        return;
    };
    let (seen_tx, mut seen_requests) = mpsc::unbounded_channel();
    // Late by half the timeout: a meter within its rights.
    tokio::spawn(late_first_answer(port, Duration::from_millis(150), seen_tx));
    let target: Target = format!("rtu://{ours}?baud=19200&parity=none&timeout=300")
        .parse()
        .unwrap();
    let (events_tx, mut events) = mpsc::channel(64);
    let link = LinkHandle::spawn(target, events_tx);
    let answer = send_read(&link).await;
    assert_eq!(seen_requests.recv().await, Some(1));
    drop(answer);
    let mut seen = Vec::new();
    wait_for_dropped_read(&mut events, &mut seen).await;
    assert_eq!(
        link.read(1, Table::Holding, 0, 1).await.unwrap(),
        Ok(vec![2]),
        "{seen:?}"
    );
    assert_eq!(
        link.read(1, Table::Holding, 0, 1).await.unwrap(),
        Ok(vec![3])
    );
}

/// A device on loopback TCP whose n-th answer is the register n.
async fn answering_device() -> (u16, SlowFirst) {
    let (port, device) = holding_device().await;
    // The first answer is not held.
    device.release.notify_one();
    (port, device)
}

#[tokio::test]
async fn a_pause_with_the_event_channel_full_blocks_no_read() {
    let (port, _device) = answering_device().await;
    let target = tcp(port);
    // Room for one event, taken by Connected and never read.
    let (events_tx, mut events) = mpsc::channel(1);
    let link = LinkHandle::spawn(target, events_tx);
    assert_eq!(link.state.borrow().wire, WireState::Connecting);
    let read = |link: LinkHandle| async move {
        tokio::time::timeout(HANG, link.read(1, Table::Holding, 0, 1))
            .await
            .expect("the read is answered")
            .unwrap()
    };
    assert_eq!(read(link.clone()).await, Ok(vec![1]));
    link.send(LinkCommand::Pause).await.unwrap();
    assert_eq!(read(link.clone()).await, Ok(vec![2]));
    link.send(LinkCommand::Resume).await.unwrap();
    link.send(LinkCommand::Pause).await.unwrap();
    assert_eq!(read(link.clone()).await, Ok(vec![3]));
    // The events that found no room are lost; the state kept them.
    let state = link.state.borrow().clone();
    assert_eq!((state.wire, state.paused), (WireState::Connected, true));
    assert_eq!(events.recv().await, Some(LinkEvent::Connected));
    let mut state = link.state.clone();
    link.send(LinkCommand::Shutdown).await.unwrap();
    tokio::time::timeout(HANG, state.wait_for(|s| s.wire == WireState::Stopped))
        .await
        .expect("the link stops")
        .unwrap();
}

/// A device that holds its first answer, on loopback TCP.
async fn holding_device() -> (u16, SlowFirst) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (device, side) = slow_first();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(side.clone_side().serve(socket, false));
        }
    });
    (port, device)
}

/// While a request is out, reads fill the actor's queue and then the
/// command channel, and the handle says the link is busy; a pause still
/// gets through, and every read taken is answered in turn.
#[tokio::test]
async fn a_full_queue_pushes_back_and_control_still_gets_through() {
    let (port, mut device) = holding_device().await;
    let (events_tx, mut events) = mpsc::channel(256);
    let link = LinkHandle::spawn(tcp(port), events_tx);
    let first = send_read(&link).await;
    assert_eq!(device.requests.recv().await, Some(1));
    let mut answers = Vec::new();
    let mut busy_in_a_row = 0;
    // Each refusal gives the actor turns to take what it has room for.
    while busy_in_a_row < 2 && answers.len() < 10 * JOB_QUEUE {
        let (command, answer) = read_command();
        match link.try_send(command) {
            Ok(()) => {
                answers.push(answer);
                busy_in_a_row = 0;
            }
            Err(error) => {
                assert_eq!(error, SendError::Busy);
                busy_in_a_row += 1;
                for _ in 0..50 {
                    tokio::task::yield_now().await;
                }
            }
        }
    }
    assert_eq!(answers.len(), 2 * JOB_QUEUE);
    link.try_send(LinkCommand::Pause).unwrap();
    let mut seen = Vec::new();
    wait_for_event(&mut events, &mut seen, |e| *e == LinkEvent::Paused).await;
    device.release.notify_one();
    assert_eq!(first.await.unwrap(), Ok(vec![1]));
    for (k, answer) in answers.into_iter().enumerate() {
        assert_eq!(answer.await.unwrap(), Ok(vec![k as u16 + 2]));
    }
    shut_down(&link, &mut events, &mut seen).await;
    let (command, _) = read_command();
    assert_eq!(link.try_send(command), Err(SendError::Gone));
}

/// A poll under way when a reconnect or a shutdown is asked is answered
/// with why it ended, not left unanswered.
#[tokio::test]
async fn a_poll_dropped_for_a_command_says_why() {
    let map = Arc::new(RegisterMap::load("powerlogic").unwrap());
    for (command, reconnect) in [
        (LinkCommand::Reconnect, true),
        (LinkCommand::Shutdown, false),
    ] {
        let (port, mut device) = holding_device().await;
        let (events_tx, _events) = mpsc::channel(64);
        let link = LinkHandle::spawn(tcp(port), events_tx);
        let polling = {
            let link = link.clone();
            let map = Arc::clone(&map);
            tokio::spawn(async move { link.poll_once(map, 1).await })
        };
        assert_eq!(device.requests.recv().await, Some(1));
        link.send(command).await.unwrap();
        let (poll, _) = polling.await.unwrap().expect("answered");
        assert_eq!(
            (poll.coverage.asked, poll.coverage.read),
            (map.reads().len() as u64, 0)
        );
        assert_eq!(poll.errors.len(), 1, "{poll:?}");
        assert_eq!(poll.errors[0].not_asked, map.reads().len() - 1);
        match &poll.errors[0].error {
            LinkError::Io { reason, .. } if reconnect => {
                assert_eq!(reason.message, "the poll was dropped to connect again")
            }
            LinkError::Stopped { .. } if !reconnect => {}
            other => panic!("{other:?}"),
        }
        device.release.notify_one();
    }
}

/// Blocks asked through the handle of a stopped link say it stopped, not
/// that a connection will be rebuilt.
#[tokio::test]
async fn blocks_asked_of_a_stopped_link_say_it_stopped() {
    let target = refusing();
    let (events_tx, mut events) = mpsc::channel(64);
    let link = LinkHandle::spawn(target.clone(), events_tx);
    shut_down(&link, &mut events, &mut Vec::new()).await;
    let map = RegisterMap::load("powerlogic").unwrap();
    let poll = link
        .poll_by_blocks(&map, 1, |_| Ok::<(), ()>(()))
        .await
        .unwrap();
    assert_eq!(poll.errors.len(), 1, "{poll:?}");
    assert_eq!(poll.errors[0].not_asked, map.reads().len() - 1);
    assert_eq!(
        poll.errors[0].error,
        LinkError::Stopped {
            target: target.to_string()
        }
    );
    assert_eq!(
        poll.errors[0].error.to_string(),
        format!("{target}: the link has stopped")
    );
}
