use crate::cli::PortsArgs;
use crate::modbus::ports;
use crate::sanitize::for_terminal;

pub fn run(args: &PortsArgs) -> anyhow::Result<()> {
    let ports = ports::list()?;
    if args.json {
        println!("{}", crate::report::json::to_pretty(&ports)?);
        return Ok(());
    }
    if ports.is_empty() {
        println!("no serial ports found");
        return Ok(());
    }
    println!(
        "{:<24} {:<9} {:<9} {:<24} {:<28} serial",
        "device", "kind", "vid:pid", "manufacturer", "product"
    );
    for p in &ports {
        let id = match (&p.vid, &p.pid) {
            (Some(v), Some(d)) => format!("{v}:{d}"),
            _ => "-".into(),
        };
        let text = |t: &Option<String>| for_terminal(t.as_deref().unwrap_or("-")).into_owned();
        println!(
            "{:<24} {:<9} {:<9} {:<24} {:<28} {}",
            for_terminal(&p.device),
            p.kind,
            id,
            text(&p.manufacturer),
            text(&p.product),
            text(&p.serial_number)
        );
    }
    Ok(())
}
