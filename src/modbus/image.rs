//! The holding registers a server answers from: one block of words per
//! range of the map, reserved registers reading 0x8000.

use tokio_modbus::ExceptionCode;

use super::map::{MAX_READ, Read, RegisterMap};

/// What reserved registers (and values not available) read as.
pub const RESERVED: u16 = 0x8000;

#[derive(Debug, Clone, PartialEq)]
pub struct RegisterImage {
    ranges: Vec<(Read, Vec<u16>)>,
}

impl RegisterImage {
    /// Every range of `map`, all reserved.
    pub fn new(map: &RegisterMap) -> RegisterImage {
        RegisterImage {
            ranges: map
                .ranges
                .iter()
                .map(|r| (*r, vec![RESERVED; r.count as usize]))
                .collect(),
        }
    }

    /// Writes `words` from register number `register`; words falling
    /// outside every range are dropped.
    pub fn set(&mut self, register: u16, words: &[u16]) {
        for (k, word) in words.iter().enumerate() {
            let Some(number) = register.checked_add(k as u16) else {
                return;
            };
            if let Some((range, values)) = self.ranges.iter_mut().find(|(r, _)| contains(r, number))
            {
                values[(number - range.register) as usize] = *word;
            }
        }
    }

    /// Answers a read at PDU address `address` (register number − 1): 03
    /// for a quantity of 0 or over 125; 02 when the read does not start
    /// inside a range or runs past its end.
    pub fn read(&self, address: u16, quantity: u16) -> Result<Vec<u16>, ExceptionCode> {
        if quantity == 0 || quantity > MAX_READ {
            return Err(ExceptionCode::IllegalDataValue);
        }
        let register = address as u32 + 1;
        let (range, values) = self
            .ranges
            .iter()
            .find(|(r, _)| {
                register >= r.register as u32 && register < r.register as u32 + r.count as u32
            })
            .ok_or(ExceptionCode::IllegalDataAddress)?;
        let from = (register - range.register as u32) as usize;
        let to = from + quantity as usize;
        values
            .get(from..to)
            .map(<[u16]>::to_vec)
            .ok_or(ExceptionCode::IllegalDataAddress)
    }
}

fn contains(range: &Read, register: u16) -> bool {
    register >= range.register && (register as u32) < range.register as u32 + range.count as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inside_ranges_and_exceptions_outside() {
        let map = RegisterMap::load("powerlogic").unwrap();
        let mut image = RegisterImage::new(&map);
        image.set(3028, &[0x4366, 0x4000]);
        // Register 3028 is PDU address 3027.
        assert_eq!(image.read(3027, 2), Ok(vec![0x4366, 0x4000]));
        assert_eq!(
            image.read(3033, 2),
            Ok(vec![RESERVED, RESERVED]),
            "reserved 3034"
        );
        assert_eq!(image.read(3027, 0), Err(ExceptionCode::IllegalDataValue));
        assert_eq!(image.read(3027, 126), Err(ExceptionCode::IllegalDataValue));
        assert_eq!(
            image.read(0, 1),
            Err(ExceptionCode::IllegalDataAddress),
            "register 1"
        );
        assert_eq!(
            image.read(28, 1),
            Err(ExceptionCode::IllegalDataAddress),
            "register 29"
        );
        assert!(image.read(29, 60).is_ok(), "30..89");
        assert_eq!(
            image.read(29, 61),
            Err(ExceptionCode::IllegalDataAddress),
            "past the end"
        );
        assert_eq!(image.read(65535, 1), Err(ExceptionCode::IllegalDataAddress));
    }
}
