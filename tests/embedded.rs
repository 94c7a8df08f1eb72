//! meter-core in this process: started on a free loopback port, read over
//! real Modbus TCP, stopped, its state kept.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use chrono::NaiveDate;
use meterscope::meter::replay::{ManualClock, Pace};
use meterscope::meter::store;
use meterscope::modbus::embedded::{EmbedError, Options, Source, start, start_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::binary;

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A 32-bit float at a register number as printed (high word first), read
/// with one Modbus TCP request of our own making, unit 1.
async fn read_f32(stream: &mut TcpStream, register: u16) -> f32 {
    let [a0, a1] = (register - 1).to_be_bytes();
    let request = [
        0x00, 0x07, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, a0, a1, 0x00, 0x02,
    ];
    stream.write_all(&request).await.unwrap();
    let mut answer = [0u8; 13];
    stream.read_exact(&mut answer).await.unwrap();
    assert_eq!(
        answer[..9],
        [0x00, 0x07, 0x00, 0x00, 0x00, 0x07, 0x01, 0x03, 0x04]
    );
    f32::from_be_bytes([answer[9], answer[10], answer[11], answer[12]])
}

#[test]
fn the_feeder_is_served_over_modbus_tcp_and_published_each_tick() {
    runtime().block_on(async {
        let meter = start(Source::Feeder, loopback()).await.unwrap();
        assert!(meter.address.ip().is_loopback());
        assert_ne!(
            meter.address.port(),
            0,
            "the port bound, not the one asked for"
        );
        assert!(meter.source.contains("built-in feeder"), "{}", meter.source);
        let mut snapshots = meter.snapshots.clone();
        // Real time: wait for a window of the feeder to be measured.
        while snapshots.borrow_and_update().reading.is_none() {
            snapshots.changed().await.unwrap();
        }
        let mut link = TcpStream::connect(meter.address).await.unwrap();
        let voltage = read_f32(&mut link, 3028).await;
        let frequency = read_f32(&mut link, 3110).await;
        let thd = read_f32(&mut link, 21330).await;
        assert!((voltage - 230.15).abs() < 0.2, "V A-N {voltage}");
        assert!((frequency - 50.0).abs() < 0.05, "{frequency} Hz");
        assert!((thd - 3.67).abs() < 0.1, "THD V A-N {thd} %");
        let published = snapshots.borrow().reading.clone().unwrap();
        let rms = published.phases[0].voltage.as_ref().unwrap().rms;
        assert!(
            (rms - f64::from(voltage)).abs() < 0.2,
            "{rms} against {voltage}"
        );
        let address = meter.address;
        meter.stop().await.unwrap();
        // Stopped means closed: nobody listens there any more.
        assert!(TcpStream::connect(address).await.is_err());
    });
}

#[test]
fn an_injected_clock_moves_the_replay_and_nothing_else_does() {
    runtime().block_on(async {
        let clock = ManualClock::default();
        let meter_time = NaiveDate::from_ymd_opt(2026, 3, 1)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        let meter = start_with(
            Source::Feeder,
            Options {
                tcp: Some("127.0.0.1:0".into()),
                clock: Some(Box::new(clock.clone())),
                meter_time: Some(meter_time),
                pace: Pace::RealTime,
                tick: Duration::from_millis(1),
                ..Options::default()
            },
        )
        .await
        .unwrap();
        let mut snapshots = meter.snapshots.clone();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(snapshots.borrow().replayed_s, 0.0, "the clock stood still");
        clock.advance(Duration::from_millis(2500));
        while snapshots.borrow_and_update().replayed_s < 2.5 {
            snapshots.changed().await.unwrap();
        }
        let snapshot = snapshots.borrow().clone();
        assert!(
            (snapshot.replayed_s - 2.5).abs() < 0.001,
            "{}",
            snapshot.replayed_s
        );
        assert_eq!(
            snapshot.time,
            meter_time + chrono::Duration::milliseconds(2500)
        );
        assert_eq!(snapshot.windows, 12, "2.5 s of 200 ms windows");
        meter.stop().await.unwrap();
    });
}

#[test]
fn a_stop_keeps_the_state_and_a_start_carries_on_from_it() {
    let dir = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let options = || Options {
            tcp: Some("127.0.0.1:0".into()),
            state: Some(dir.path().to_path_buf()),
            pace: Pace::AsFastAsPossible {
                step: Duration::from_secs(1),
            },
            ..Options::default()
        };
        let meter = start_with(Source::Feeder, options()).await.unwrap();
        let mut snapshots = meter.snapshots.clone();
        while snapshots.borrow_and_update().energy.wh_delivered < 100.0 {
            snapshots.changed().await.unwrap();
        }
        meter.stop().await.unwrap();
        let kept = store::load(dir.path()).unwrap().expect("a state was kept");
        assert!(kept.wh_delivered >= 100.0, "{}", kept.wh_delivered);

        let again = start_with(Source::Feeder, options()).await.unwrap();
        let first = again.snapshots.borrow().energy.wh_delivered;
        assert!(
            first >= kept.wh_delivered,
            "{first} carried on from {}",
            kept.wh_delivered
        );
        again.stop().await.unwrap();
    });
}

#[test]
fn a_port_in_use_and_a_missing_profile_are_refused_with_what_was_asked() {
    runtime().block_on(async {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = taken.local_addr().unwrap();
        let Err(refused) = start(Source::Feeder, address).await else {
            panic!("a port in use was taken");
        };
        match &refused {
            EmbedError::Listen { address: asked, .. } => assert_eq!(asked, &address.to_string()),
            other => panic!("{other}"),
        }
        let Err(refused) = start_with(
            Source::Feeder,
            Options {
                profile: "no-such-profile".into(),
                tcp: Some("127.0.0.1:0".into()),
                ..Options::default()
            },
        )
        .await
        else {
            panic!("an unknown profile was served");
        };
        assert!(matches!(refused, EmbedError::Profile(_)), "{refused}");
    });
}

#[test]
fn serve_refuses_a_profile_with_a_point_meter_core_does_not_know_at_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("misspelt.ron");
    std::fs::write(
        &profile,
        "Profile(\n    name: \"misspelt\",\n    description: \"a typing slip\",\n    points: [\n        \
         Point(name: \"voltage_an\", register: 3028, type: f32),\n        \
         Point(name: \"freqency\", register: 3110, type: f32, unit: \"Hz\"),\n    ],\n)\n",
    )
    .unwrap();
    let output = Command::new(binary())
        .args(["serve", "--tcp", "127.0.0.1:0", "--profile"])
        .arg(&profile)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(output.stdout.is_empty(), "nothing listened");
    assert!(
        stderr.starts_with(&format!(
            "error: {}:6:21: point 'freqency': meter-core has no such quantity",
            profile.display()
        )),
        "{stderr}"
    );
}

#[test]
fn the_meter_gives_the_target_a_client_reaches_it_at() {
    runtime().block_on(async {
        let meter = start_with(
            Source::Feeder,
            Options {
                tcp: Some("127.0.0.1:0".into()),
                unit: 7,
                ..Options::default()
            },
        )
        .await
        .unwrap();
        let target = meter.target();
        assert_eq!(
            target.transport,
            meterscope::modbus::link::TargetTransport::Tcp {
                host: "127.0.0.1".into(),
                port: meter.address.port(),
            }
        );
        assert_eq!(target.unit, 7);
        // The same target as its URL would give.
        let url = format!("tcp://{}?unit=7", meter.address);
        assert_eq!(
            url.parse::<meterscope::modbus::link::Target>().unwrap(),
            target
        );
        meter.stop().await.unwrap();
    });
}
