//! lightyear 0.30 transport packets, written and read by hand so tests can forge what no
//! honest client sends. The layout (as `lightyear_transport` parses it, after netcode has
//! decrypted the datagram):
//!
//! - a 13-byte header: packet type `u8` (0 data, 1 data with one fragment, 4 ack only),
//!   packet id `u16`, last ack `u16` (`0xFFFF`: none), ack bitfield `u32`, tick `u32`, all
//!   big-endian;
//! - for a fragment packet, first one fragment: channel (varint), message id `u16`,
//!   fragment index (varint), fragment count (varint), a compression byte on fragment 0 only,
//!   then the bytes (varint length + bytes);
//! - then batches until the end: channel (varint), message count `u8`, and per message an
//!   optional message id (tag `u8`, then `u16` when 1) and its bytes (varint length + bytes).
//!
//! Varints are QUIC-style: the top two bits of the first byte give the length (1, 2, 4, 8).
#![allow(dead_code)]

pub const DATA: u8 = 0;
pub const FRAGMENT: u8 = 1;

pub fn varint(out: &mut Vec<u8>, v: u64) {
    if v < 1 << 6 {
        out.push(v as u8);
    } else if v < 1 << 14 {
        out.extend_from_slice(&(0x4000 | v as u16).to_be_bytes());
    } else if v < 1 << 30 {
        out.extend_from_slice(&(0x8000_0000 | v as u32).to_be_bytes());
    } else {
        out.extend_from_slice(&(0xC000_0000_0000_0000 | v).to_be_bytes());
    }
}

fn read_varint(b: &[u8], at: &mut usize) -> Option<u64> {
    let first = *b.get(*at)?;
    let len = 1usize << (first >> 6);
    let bytes = b.get(*at..*at + len)?;
    let mut v = u64::from(first & 0x3F);
    for byte in &bytes[1..] {
        v = (v << 8) | u64::from(*byte);
    }
    *at += len;
    Some(v)
}

pub fn header(out: &mut Vec<u8>, kind: u8, packet_id: u16) {
    out.push(kind);
    out.extend_from_slice(&packet_id.to_be_bytes());
    out.extend_from_slice(&u16::MAX.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
}

/// A data packet with one batch of messages (no message ids: unreliable channels).
pub fn data(packet_id: u16, channel: u16, messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    header(&mut out, DATA, packet_id);
    varint(&mut out, u64::from(channel));
    out.push(messages.len() as u8);
    for m in messages {
        out.push(0);
        varint(&mut out, m.len() as u64);
        out.extend_from_slice(m);
    }
    out
}

/// A data packet with one batch of messages carrying message ids (reliable channels).
pub fn data_with_ids(packet_id: u16, channel: u16, messages: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    header(&mut out, DATA, packet_id);
    varint(&mut out, u64::from(channel));
    out.push(messages.len() as u8);
    for (id, m) in messages {
        out.push(1);
        out.extend_from_slice(&id.to_be_bytes());
        varint(&mut out, m.len() as u64);
        out.extend_from_slice(m);
    }
    out
}

/// A packet carrying one fragment with the given (possibly lying) header fields.
pub fn fragment(
    packet_id: u16,
    channel: u16,
    message_id: u16,
    index: u64,
    count: u64,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    header(&mut out, FRAGMENT, packet_id);
    varint(&mut out, u64::from(channel));
    out.extend_from_slice(&message_id.to_be_bytes());
    varint(&mut out, index);
    varint(&mut out, count);
    if index == 0 {
        out.push(0);
    }
    varint(&mut out, payload.len() as u64);
    out.extend_from_slice(payload);
    out
}

/// One message of a parsed data packet: where its bytes start and end in the packet.
#[derive(Debug, Clone, Copy)]
pub struct MessageSpan {
    pub channel: u64,
    pub start: usize,
    pub end: usize,
}

/// The messages of a data packet (type 0), or `None` if it is anything else.
pub fn messages(packet: &[u8]) -> Option<Vec<MessageSpan>> {
    if packet.len() < 13 || packet[0] != DATA {
        return None;
    }
    let mut at = 13;
    let mut out = Vec::new();
    while at < packet.len() {
        let channel = read_varint(packet, &mut at)?;
        let count = *packet.get(at)?;
        at += 1;
        for _ in 0..count {
            let tag = *packet.get(at)?;
            at += 1 + if tag != 0 { 2 } else { 0 };
            let len = read_varint(packet, &mut at)? as usize;
            let end = at.checked_add(len).filter(|e| *e <= packet.len())?;
            out.push(MessageSpan {
                channel,
                start: at,
                end,
            });
            at = end;
        }
    }
    Some(out)
}
