//! The 2013 single-file form: cfg, inf, hdr and dat sections behind marker lines.

use std::path::Path;

use super::cfg::DataType;
use super::error::{ComtradeError, Location, Result};

/// One section of a .cff, as bytes, with where it starts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Section<'a> {
    pub bytes: &'a [u8],
    /// 1-based line number of the section's first line.
    pub first_line: usize,
    pub offset: u64,
}

/// The sections of a .cff file.
#[derive(Debug, Default)]
pub struct CffParts<'a> {
    pub cfg: Option<Section<'a>>,
    pub inf: Option<Section<'a>>,
    pub hdr: Option<Section<'a>>,
    pub dat: Option<Section<'a>>,
    /// The data type the DAT marker names, when it names one.
    pub dat_type: Option<DataType>,
}

/// A parsed marker line such as `--- file type: DAT BINARY: 4214 ---`.
#[derive(Debug, PartialEq)]
struct Marker {
    kind: String,
    data_type: Option<DataType>,
    length: Option<u64>,
}

/// Recognises a marker however loosely it is spelled: any run of two or more
/// dashes, `file type` with or without a colon, the DAT type and byte count optional.
fn marker(line: &[u8]) -> Option<Marker> {
    let text = std::str::from_utf8(line).ok()?.trim();
    if !text.starts_with("--") {
        return None;
    }
    let inner = text.trim_matches(|c: char| c == '-' || c.is_whitespace());
    let lower = inner.to_ascii_lowercase();
    let rest = lower.strip_prefix("file type")?;
    let words: Vec<&str> = rest
        .split(|c: char| c == ':' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    let kind = words.first()?.to_ascii_uppercase();
    let data_type = words.get(1).and_then(|w| DataType::parse(w));
    let length = words.get(2).and_then(|w| w.parse().ok());
    Some(Marker {
        kind,
        data_type,
        length,
    })
}

/// Whether `head`, the start of a file, opens with the CFG marker (after a
/// byte order mark or blank lines), as every .cff does: anything else is
/// refused before the whole file is read.
pub fn opens_with_cfg_marker(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    head.split(|&b| b == b'\n')
        .find(|line| !line.iter().all(u8::is_ascii_whitespace))
        .and_then(marker)
        .is_some_and(|m| m.kind == "CFG")
}

/// Splits a .cff into its sections.
pub fn split<'a>(file: &Path, bytes: &'a [u8], warnings: &mut Vec<String>) -> Result<CffParts<'a>> {
    let mut parts = CffParts::default();
    let mut open: Option<(String, usize, usize)> = None; // kind, content start, first line
    let mut pos = 0usize;
    let mut line = 1usize;
    while pos < bytes.len() {
        let end = bytes[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| pos + i);
        let next = (end + 1).min(bytes.len());
        if let Some(m) = marker(&bytes[pos..end]) {
            if let Some((kind, start, first)) = open.take() {
                store(&mut parts, &kind, bytes, start, pos, first, file, warnings);
            }
            if m.kind == "DAT" {
                parts.dat_type = m.data_type;
                let binary = !matches!(m.data_type, Some(DataType::Ascii));
                if binary && m.data_type.is_some() {
                    // Binary data may hold any byte, so it runs to its stated length
                    // (or the end of the file) and no marker is looked for inside it.
                    let stop = match m.length {
                        Some(len) => {
                            let want = (next as u64).checked_add(len).ok_or_else(|| {
                                ComtradeError::format(
                                    file,
                                    Location::Line(line),
                                    "DAT section length",
                                    format!("{len} bytes is more than any file can hold"),
                                )
                            })?;
                            if want > bytes.len() as u64 {
                                warnings.push(format!(
                                    "{}:{line}: DAT section declares {len} bytes but the file holds {}",
                                    file.display(),
                                    bytes.len() - next
                                ));
                            }
                            want.min(bytes.len() as u64) as usize
                        }
                        None => bytes.len(),
                    };
                    store(
                        &mut parts,
                        "DAT",
                        bytes,
                        next,
                        stop,
                        line + 1,
                        file,
                        warnings,
                    );
                    return finish(parts, file);
                }
            }
            open = Some((m.kind, next, line + 1));
        }
        pos = next;
        line += 1;
    }
    if let Some((kind, start, first)) = open {
        store(
            &mut parts,
            &kind,
            bytes,
            start,
            bytes.len(),
            first,
            file,
            warnings,
        );
    }
    finish(parts, file)
}

#[allow(clippy::too_many_arguments)]
fn store<'a>(
    parts: &mut CffParts<'a>,
    kind: &str,
    bytes: &'a [u8],
    start: usize,
    end: usize,
    first_line: usize,
    file: &Path,
    warnings: &mut Vec<String>,
) {
    let section = Some(Section {
        bytes: &bytes[start..end.max(start)],
        first_line,
        offset: start as u64,
    });
    match kind {
        "CFG" => parts.cfg = section,
        "INF" => parts.inf = section,
        "HDR" => parts.hdr = section,
        "DAT" => parts.dat = section,
        other => warnings.push(format!(
            "{}:{}: unknown section '{}' ignored",
            file.display(),
            first_line.saturating_sub(1),
            other.escape_debug()
        )),
    }
}

fn finish<'a>(parts: CffParts<'a>, file: &Path) -> Result<CffParts<'a>> {
    if parts.cfg.is_none() {
        return Err(ComtradeError::format(
            file,
            Location::Line(1),
            "CFG section",
            "no '--- file type: CFG ---' section found",
        ));
    }
    if parts.dat.is_none() {
        return Err(ComtradeError::format(
            file,
            Location::File,
            "DAT section",
            "no '--- file type: DAT ... ---' section found",
        ));
    }
    Ok(parts)
}

/// The marker line that opens a DAT section of `length` bytes.
pub fn dat_marker(data_type: DataType, length: u64) -> String {
    match data_type {
        DataType::Ascii => "--- file type: DAT ASCII ---\r\n".to_string(),
        other => format!("--- file type: DAT {}: {length} ---\r\n", other.name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cff_is_known_by_its_first_line() {
        assert!(opens_with_cfg_marker(
            b"--- file type: CFG ---\r\nST,1,2013\r\n"
        ));
        assert!(opens_with_cfg_marker(
            b"\xEF\xBB\xBF\r\n\n---file type CFG---\n"
        ));
        assert!(!opens_with_cfg_marker(b"xxxxxxxx"));
        assert!(!opens_with_cfg_marker(
            b"ST,1,2013\n--- file type: CFG ---\n"
        ));
        assert!(!opens_with_cfg_marker(
            b"--- file type: DAT BINARY: 4 ---\n"
        ));
        assert!(!opens_with_cfg_marker(b""));
    }

    #[test]
    fn loose_markers_are_recognised() {
        let m = marker(b"--- file type: DAT BINARY: 4214 ---\r").unwrap();
        assert_eq!(
            (m.kind.as_str(), m.data_type, m.length),
            ("DAT", Some(DataType::Binary), Some(4214))
        );
        let m = marker(b"-- file type CFG --").unwrap();
        assert_eq!(m.kind, "CFG");
        let m = marker(b"--- file type: DAT ---").unwrap();
        assert_eq!((m.data_type, m.length), (None, None));
        assert!(marker(b"1,IA,,,A").is_none());
        assert!(marker(b"-5h30,-5h30").is_none());
    }

    #[test]
    fn sections_are_split() {
        let cff = b"--- file type: CFG ---\nA,B,2013\n--- file type: HDR ---\nnotes\n--- file type: DAT ASCII ---\n1,0,5\n";
        let mut warnings = Vec::new();
        let parts = split(Path::new("x.cff"), cff, &mut warnings).unwrap();
        assert_eq!(parts.cfg.unwrap().bytes, b"A,B,2013\n");
        assert_eq!(parts.hdr.unwrap().bytes, b"notes\n");
        let dat = parts.dat.unwrap();
        assert_eq!((dat.bytes, dat.first_line), (&b"1,0,5\n"[..], 6));
    }
}
