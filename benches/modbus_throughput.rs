//! meter-core as a Modbus TCP server beside a pymodbus 3.16 server and a
//! libmodbus server answering the same reads: requests per second with 1
//! and 16 libmodbus clients doing sequential 18-register reads on loopback,
//! and the time meterscope's link takes to poll the whole powerlogic profile.
//!
//! Run with `cargo bench --bench modbus_throughput`. Needs gcc and
//! libmodbus-dev (for the C peers, built here from benches/peers/*.c) and
//! python3 with pymodbus; a missing peer is skipped with a note.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use meterscope::modbus::link::{Link, Table};
use meterscope::modbus::map::RegisterMap;

const SECONDS: &str = "3";
/// Registers 3000 to 3017: currents and line voltages, 18 registers.
const ADDRESS: &str = "2999";
const COUNT: &str = "18";

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn build(dir: &Path, name: &str) -> Option<PathBuf> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches/peers")
        .join(format!("{name}.c"));
    let out = dir.join(name);
    let flags = Command::new("pkg-config")
        .args(["--cflags", "--libs", "libmodbus"])
        .output()
        .ok()?;
    let flags = String::from_utf8_lossy(&flags.stdout).to_string();
    let status = Command::new("cc")
        .arg("-O2")
        .arg("-o")
        .arg(&out)
        .arg(&source)
        .args(flags.split_whitespace())
        .status()
        .ok()?;
    status.success().then_some(out)
}

/// Starts a server and waits for its "ready" (or "listening ...") line.
fn start(program: &str, args: &[String]) -> Option<(Running, String)> {
    let mut child = Command::new(program)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take()?)
        .read_line(&mut line)
        .ok()?;
    Some((Running(child), line.trim().to_string()))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(15020)
}

/// Reads per second from `clients` libmodbus clients at once.
fn rate(client: &Path, port: u16, clients: usize) -> f64 {
    let children: Vec<Child> = (0..clients)
        .filter_map(|_| {
            Command::new(client)
                .args([&port.to_string(), "1", ADDRESS, COUNT, SECONDS])
                .stdout(Stdio::piped())
                .spawn()
                .ok()
        })
        .collect();
    let mut total = 0.0;
    for child in children {
        if let Ok(out) = child.wait_with_output() {
            let text = String::from_utf8_lossy(&out.stdout);
            total += text
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<f64>().ok())
                .unwrap_or(0.0);
        }
    }
    total / SECONDS.parse::<f64>().unwrap_or(1.0)
}

fn main() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let Some(client) = build(dir.path(), "libmodbus_client") else {
        println!("not run: gcc and libmodbus-dev are needed for the C client");
        return;
    };
    let mut servers: Vec<(&str, Running, u16)> = Vec::new();

    let port = free_port();
    if let Some((child, line)) = start(
        env!("CARGO_BIN_EXE_meterscope"),
        &["serve".into(), "--tcp".into(), format!("127.0.0.1:{port}")],
    ) {
        assert!(line.starts_with("listening tcp"), "{line}");
        std::thread::sleep(Duration::from_millis(500));
        servers.push(("meter-core (meterscope serve)", child, port));
    }
    let port = free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/pymodbus_server.py");
    let mut args = vec![
        script.display().to_string(),
        "tcp".into(),
        port.to_string(),
        "1".into(),
    ];
    args.extend((3000..3018).map(|r| format!("{r}={r}")));
    match start("python3", &args) {
        Some((child, _)) => servers.push(("pymodbus 3.16 server", child, port)),
        None => println!("pymodbus server not run: python3 with pymodbus is needed"),
    }
    if let Some(server) = build(dir.path(), "libmodbus_server") {
        let port = free_port();
        if let Some((child, _)) = start(server.to_str().unwrap_or_default(), &[port.to_string()]) {
            servers.push(("libmodbus server", child, port));
        }
    }

    println!("sequential reads of 18 registers by libmodbus clients on loopback, {SECONDS} s each");
    println!("| server | 1 client, reads/s | 16 clients, reads/s |");
    println!("|---|---:|---:|");
    let mut single = Vec::new();
    for (name, _, port) in &servers {
        let one = rate(&client, *port, 1);
        let many = rate(&client, *port, 16);
        single.push((*name, one));
        println!("| {name} | {one:.0} | {many:.0} |");
    }
    if let (Some(ours), Some(py)) = (
        single.iter().find(|s| s.0.starts_with("meter-core")),
        single.iter().find(|s| s.0.starts_with("pymodbus")),
    ) {
        println!(
            "\nmeter-core answers {:.1} times as many single-client reads as pymodbus",
            ours.1 / py.1
        );
    }
    if let (Some(ours), Some(c)) = (
        single.iter().find(|s| s.0.starts_with("meter-core")),
        single.iter().find(|s| s.0.starts_with("libmodbus")),
    ) {
        println!(
            "meter-core answers {:.2} of libmodbus's single-client rate",
            ours.1 / c.1
        );
    }

    if let Some((_, _, port)) = servers.iter().find(|s| s.0.starts_with("meter-core")) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let map = RegisterMap::load("powerlogic").expect("profile");
        let target = format!("tcp://127.0.0.1:{port}").parse().expect("target");
        let times = runtime.block_on(async {
            let mut link = Link::new(target);
            let mut times = Vec::new();
            for _ in 0..500 {
                let started = Instant::now();
                for read in map.reads() {
                    let _ = link
                        .read(1, Table::Holding, read.register - 1, read.count)
                        .await;
                }
                times.push(started.elapsed().as_secs_f64() * 1e3);
            }
            times
        });
        let mut sorted = times.clone();
        sorted.sort_by(f64::total_cmp);
        println!(
            "\npolling the whole powerlogic profile from meter-core ({} reads): median {:.3} ms, p95 {:.3} ms, best {:.3} ms over 500 polls",
            map.reads().len(),
            sorted[sorted.len() / 2],
            sorted[sorted.len() * 95 / 100],
            sorted[0]
        );
    }
}
