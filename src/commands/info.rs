use crate::cli::InfoArgs;
use crate::report::capture_info::CaptureInfo;

pub fn run(args: &InfoArgs) -> anyhow::Result<()> {
    let capture = super::open_capture(&args.file, &args.read)?;
    let info = CaptureInfo::new(&capture);
    if args.json {
        println!("{}", crate::report::json::to_pretty(&info)?);
    } else {
        print!("{}", info.to_table());
    }
    Ok(())
}
