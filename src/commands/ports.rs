use serde::Serialize;
use tokio_serial::SerialPortType;

use crate::cli::PortsArgs;
use crate::sanitize::for_terminal;

#[derive(Debug, Serialize)]
struct Port {
    device: String,
    /// usb, pci, bluetooth or unknown.
    kind: &'static str,
    vid: Option<String>,
    pid: Option<String>,
    manufacturer: Option<String>,
    product: Option<String>,
    serial_number: Option<String>,
}

pub fn run(args: &PortsArgs) -> anyhow::Result<()> {
    let mut ports: Vec<Port> = tokio_serial::available_ports()
        .map_err(|e| anyhow::anyhow!("cannot list the serial ports: {e}"))?
        .into_iter()
        .map(|info| {
            let mut port = Port {
                device: info.port_name,
                kind: "unknown",
                vid: None,
                pid: None,
                manufacturer: None,
                product: None,
                serial_number: None,
            };
            match info.port_type {
                SerialPortType::UsbPort(usb) => {
                    port.kind = "usb";
                    port.vid = Some(format!("{:04x}", usb.vid));
                    port.pid = Some(format!("{:04x}", usb.pid));
                    port.manufacturer = usb.manufacturer;
                    port.product = usb.product;
                    port.serial_number = usb.serial_number;
                }
                SerialPortType::PciPort => port.kind = "pci",
                SerialPortType::BluetoothPort => port.kind = "bluetooth",
                SerialPortType::Unknown => {}
            }
            port
        })
        .collect();
    ports.sort_by(|a, b| a.device.cmp(&b.device));
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
