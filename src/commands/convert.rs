use anyhow::{Context, bail};

use crate::cli::ConvertArgs;
use crate::comtrade::{Revision, WriteOptions};
use crate::report::capture_csv::write_csv;

pub fn run(args: &ConvertArgs) -> anyhow::Result<()> {
    let capture = super::open_capture(&args.input, &args.read)?;
    let out = &args.output;
    match super::extension(out).as_deref() {
        Some("csv") => {
            let scale = super::scale_for(&capture, args.values);
            crate::atomic_file::replace_with(out, |w| write_csv(&capture, scale, w))
                .with_context(|| format!("{}: cannot write", out.display()))?;
            eprintln!("wrote {} ({} samples)", out.display(), capture.len());
        }
        Some(ext @ ("cfg" | "cff")) => {
            let single_file = ext == "cff";
            let revision = match args.rev {
                Some(rev) => super::revision(rev),
                None if single_file => Revision::R2013,
                None => capture.config.revision.max(Revision::R1999),
            };
            let data_type = args
                .format
                .map(super::data_type)
                .unwrap_or(capture.config.data_type);
            let options = WriteOptions {
                revision,
                data_type,
                single_file,
            };
            super::write(&capture, out, options)?;
        }
        _ => bail!(
            "{}: the extension says what to write: .csv, .cfg (with .dat beside it) or .cff",
            out.display()
        ),
    }
    Ok(())
}
