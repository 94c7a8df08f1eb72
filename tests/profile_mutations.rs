//! The profile loader against mutated profiles: a seeded, bounded loop of
//! edits to real and small profiles (numbers swapped for extremes, bytes
//! flipped, lines cut and repeated). Every profile is refused with an
//! error or gives a map whose points and reads are sound; none panics, and
//! tests run with overflow checks, so a wrapping count fails here.

use meterscope::modbus::map::{MAX_READ, RegisterMap};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SMALL: &str = r#"Profile(
    name: "small",
    word_order: high_first,
    max_gap: 4,
    points: [
        Point(name: "label", register: 10, type: utf8(20), count: 2),
        Point(name: "volts", register: 100, type: f32, unit: "V", scale: 1.0),
        Point(name: "energy", register: 200, type: u64, count: 3),
        Point(name: "pf", register: 300, type: pf4q),
        Point(name: "spectrum", register: 1000, type: i16, count: 50),
    ],
)"#;

const EXTENDS: &str = r#"Profile(
    name: "more",
    extends: Some("powerlogic"),
    points: [ Point(name: "extra", register: 40000, type: u32, count: 4) ],
)"#;

/// Numbers a mutation puts where a number was.
const EXTREMES: [&str; 12] = [
    "0",
    "1",
    "125",
    "126",
    "256",
    "65535",
    "65536",
    "4294967295",
    "18446744073709551615",
    "-1",
    "1e308",
    "NaN",
];

fn mutate(text: &str, rng: &mut ChaCha8Rng) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..rng.random_range(1..4) {
        match rng.random_range(0..5) {
            // A number replaced by an extreme one.
            0 | 1 => {
                let digits: Vec<usize> = (0..bytes.len())
                    .filter(|&k| {
                        bytes[k].is_ascii_digit() && (k == 0 || !bytes[k - 1].is_ascii_digit())
                    })
                    .collect();
                if digits.is_empty() {
                    continue;
                }
                let start = digits[rng.random_range(0..digits.len())];
                let end = (start..bytes.len())
                    .find(|&k| !bytes[k].is_ascii_digit())
                    .unwrap_or(bytes.len());
                let with = EXTREMES[rng.random_range(0..EXTREMES.len())];
                bytes.splice(start..end, with.bytes());
            }
            // A byte flipped.
            2 => {
                let k = rng.random_range(0..bytes.len());
                bytes[k] ^= 1 << rng.random_range(0..8);
            }
            // A line repeated.
            3 => {
                let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
                let k = rng.random_range(0..lines.len());
                let mut out = Vec::new();
                for (j, line) in lines.iter().enumerate() {
                    out.extend_from_slice(line);
                    out.push(b'\n');
                    if j == k {
                        out.extend_from_slice(line);
                        out.push(b'\n');
                    }
                }
                bytes = out;
            }
            // Cut short.
            _ => {
                let k = rng.random_range(0..bytes.len());
                bytes.truncate(k);
            }
        }
        if bytes.is_empty() {
            break;
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn check(map: &RegisterMap, text: &str) {
    for point in &map.points {
        assert!(!point.is_empty(), "{}: no registers in\n{text}", point.name);
        assert!(
            point.end() <= 65536,
            "{}: past the end in\n{text}",
            point.name
        );
    }
    for read in map.reads() {
        assert!((1..=MAX_READ).contains(&read.count), "{read:?} in\n{text}");
        assert!(read.register as u32 + read.count as u32 <= 65536);
    }
}

#[test]
fn mutated_profiles_are_refused_or_sound() {
    let bases = [
        SMALL,
        EXTENDS,
        include_str!("../src/profiles/powerlogic.ron"),
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(0x5EED_0008);
    let (mut loaded, mut refused) = (0, 0);
    for round in 0..1500 {
        let base = bases[round % bases.len()];
        let text = mutate(base, &mut rng);
        match RegisterMap::parse("mutated.ron", &text) {
            Ok(map) => {
                check(&map, &text);
                loaded += 1;
            }
            Err(e) => {
                assert!(e.to_string().starts_with("mutated.ron"), "{e}");
                refused += 1;
            }
        }
    }
    // Both outcomes are exercised, so the loop tests something.
    assert!(
        loaded > 50 && refused > 50,
        "{loaded} loaded, {refused} refused"
    );
}

#[test]
fn a_count_that_wraps_a_u16_is_refused_by_name() {
    let text = SMALL.replace("type: utf8(20), count: 2", "type: utf8(256), count: 256");
    let err = RegisterMap::parse("small.ron", &text)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("point 'label'") && err.contains("65536 registers"),
        "{err}"
    );
}
