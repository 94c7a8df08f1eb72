//! Device profiles: the documented ones are the real ones, and bad ones
//! are refused with a place to look.

mod common;

use std::process::Command;

use common::binary;
use meterscope::modbus::map::RegisterMap;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md")
}

#[test]
fn the_readme_example_profile_loads() {
    let text = readme();
    let start = text.find("```ron\n").expect("a ron example") + 7;
    let end = start + text[start..].find("```").expect("its end");
    let map = RegisterMap::parse("README example", &text[start..end]).expect("the example parses");
    assert_eq!(map.point("frequency_x100").map(|p| p.scale), Some(0.01));
    assert_eq!(map.point("spectrum").map(|p| p.count), Some(50));
    assert!(map.point("current_a").is_some(), "extends powerlogic");
}

#[test]
fn the_readme_lists_every_point_of_the_meter_core_block() {
    let text = readme();
    let map = RegisterMap::load("meter-core").unwrap();
    for point in map.points.iter().filter(|p| p.register >= 50000) {
        let row = format!("| `{}` |", point.name);
        let line = text
            .lines()
            .find(|l| l.contains(&row))
            .unwrap_or_else(|| panic!("README lacks {}", point.name));
        assert!(line.starts_with(&format!("| {}", point.register)), "{line}");
    }
}

#[test]
fn a_bad_profile_file_is_refused_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.ron");
    std::fs::write(
        &path,
        "Profile(\n    name: \"bad\",\n    points: [\n        Point(name: \"x\", register: 10, type: f33),\n    ],\n)\n",
    )
    .unwrap();
    let out = Command::new(binary())
        .args([
            "poll",
            "--target",
            "tcp://127.0.0.1:1",
            "--once",
            "--profile",
            path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:4:", path.display())), "{err}");
    assert!(err.contains("f33"), "{err}");
    let out = Command::new(binary())
        .args([
            "poll",
            "--target",
            "tcp://127.0.0.1:1",
            "--once",
            "--profile",
            "nonesuch",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no profile 'nonesuch'"), "{err}");
    let out = Command::new(binary())
        .args(["poll", "--target", "10.0.0.1:502", "--once"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("targets look like tcp://HOST:PORT"), "{err}");
}
