//! The serial ports present, with their USB identity.

use serde::Serialize;
use tokio_serial::SerialPortType;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortInfo {
    pub device: String,
    /// usb, pci, bluetooth or unknown.
    pub kind: &'static str,
    pub vid: Option<String>,
    pub pid: Option<String>,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub serial_number: Option<String>,
}

/// Why the ports could not be listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot list the serial ports: {0}")]
pub struct PortsError(pub String);

/// The serial ports present, sorted by device.
pub fn list() -> Result<Vec<PortInfo>, PortsError> {
    let mut ports: Vec<PortInfo> = tokio_serial::available_ports()
        .map_err(|e| PortsError(e.to_string()))?
        .into_iter()
        .map(|info| {
            let mut port = PortInfo {
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
    Ok(ports)
}
