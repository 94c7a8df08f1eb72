//! The sweep the serial dialog runs, as a library: over a socat pty pair
//! against `serve --rtu`, it finds the unit and its progress adds up, and
//! stopping it part-way ends it with `Ended` and the port closed.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Running, binary, peers, pty_pair_in};
use meterscope::modbus::scan::{Exception, Found, ScanPlan, ScanProgress, run};

fn serve_rtu(device: &str, unit: &str) -> Running {
    let mut child = Command::new(binary())
        .args(["serve", "--rtu", device, "--parity", "none", "--unit", unit])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start meterscope serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    assert_eq!(
        line.trim(),
        format!("listening rtu {device} 19200 8N1 unit {unit}")
    );
    Running(child)
}

fn plan(port: &str, units: std::ops::RangeInclusive<u8>) -> ScanPlan {
    ScanPlan {
        port: port.to_string(),
        bauds: vec![19200],
        parities: vec!['N'],
        units: units.collect(),
        timeout: Duration::from_millis(100),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// How many of this process's open files are the pty behind `link`.
fn open_on(link: &str) -> usize {
    let target = std::fs::canonicalize(link).unwrap();
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter(|path| Path::new(path) == target)
        .count()
}

#[test]
fn a_sweep_finds_serve_on_a_pty_and_its_progress_adds_up() {
    if !peers(&["socat"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_line, a, b) = pty_pair_in(dir.path());
    let _server = serve_rtu(&a, "7");
    let mut told = Vec::new();
    let (_stop, stop) = tokio::sync::oneshot::channel();
    runtime().block_on(run(plan(&b, 5..=9), stop, |p| told.push(p)));
    let asked: Vec<(usize, usize)> = told
        .iter()
        .filter_map(|p| match p {
            ScanProgress::Asked { done, total } => Some((*done, *total)),
            _ => None,
        })
        .collect();
    assert_eq!(
        asked,
        (0..=5).map(|d| (d, 5)).collect::<Vec<_>>(),
        "{told:?}"
    );
    let found: Vec<&Found> = told
        .iter()
        .filter_map(|p| match p {
            ScanProgress::Found(f) => Some(f),
            _ => None,
        })
        .collect();
    assert_eq!(
        found,
        [&Found {
            baud: 19200,
            parity: "none",
            unit: 7,
            // meter-core holds no register 1: an exception is an answer too.
            function: 0x83,
            exception: Some(Exception {
                code: 2,
                name: "illegal data address"
            }),
        }],
        "{told:?}"
    );
    // Found right after unit 7 was asked (the third question), ended last.
    assert_eq!(told[4], ScanProgress::Found(found[0].clone()));
    assert_eq!(told.last(), Some(&ScanProgress::Ended(None)));
    assert_eq!(
        told.iter()
            .filter(|p| matches!(p, ScanProgress::Ended(_)))
            .count(),
        1
    );
    assert_eq!(open_on(&b), 0);
}

#[test]
fn a_stopped_sweep_ends_part_way_with_the_port_closed() {
    if !peers(&["socat"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Nobody answers: 247 questions would take half a minute.
    let (_line, _a, b) = pty_pair_in(dir.path());
    let mut told = Vec::new();
    let (stop_sender, stop) = tokio::sync::oneshot::channel();
    let mut stop_sender = Some(stop_sender);
    let mut open_while_running = 0;
    runtime().block_on(run(plan(&b, 1..=247), stop, |p| {
        if p == (ScanProgress::Asked {
            done: 3,
            total: 247,
        }) {
            open_while_running = open_on(&b);
            if let Some(sender) = stop_sender.take() {
                sender.send(()).unwrap();
            }
        }
        told.push(p);
    }));
    assert_eq!(open_while_running, 1);
    assert_eq!(open_on(&b), 0);
    let last_asked = told.iter().rev().find_map(|p| match p {
        ScanProgress::Asked { done, .. } => Some(*done),
        _ => None,
    });
    // The fourth question may have been under way; no more.
    assert!(matches!(last_asked, Some(3 | 4)), "{told:?}");
    assert_eq!(
        told.last(),
        Some(&ScanProgress::Ended(Some("stopped".into())))
    );

    // A dropped sender stops it too: the console closing the dialog.
    let (dropped, stop) = tokio::sync::oneshot::channel::<()>();
    drop(dropped);
    let mut told = Vec::new();
    runtime().block_on(run(plan(&b, 1..=247), stop, |p| told.push(p)));
    assert_eq!(
        told.last(),
        Some(&ScanProgress::Ended(Some("stopped".into())))
    );
    assert!(told.len() <= 3, "{told:?}");
}

#[test]
fn a_port_that_cannot_open_ends_the_sweep_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-port").display().to_string();
    let mut told = Vec::new();
    let (_stop, stop) = tokio::sync::oneshot::channel();
    runtime().block_on(run(plan(&missing, 1..=3), stop, |p| told.push(p)));
    assert_eq!(told.len(), 2, "{told:?}");
    assert_eq!(told[0], ScanProgress::Asked { done: 0, total: 3 });
    match &told[1] {
        ScanProgress::Ended(Some(why)) => assert!(
            why.starts_with(&format!("could not open the port {missing} at 19200 8N1: ")),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
}
