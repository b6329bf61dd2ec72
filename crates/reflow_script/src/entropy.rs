//! What a plugin reads from outside its input during a call: its WASI wall clock, monotonic
//! clock and random source. A recording keeps these reads so that a replay of the call can
//! hand the plugin the same values and get the same answer (`reflow replay`).
//!
//! The engine gives the instance an [`Entropy`] for one call ([`crate::ExtismEngine::set_entropy`]):
//! [`Entropy::Live`] (the default, nothing kept: one branch per read), [`Entropy::Record`]
//! (live values, each one kept) or [`Entropy::Replay`] (the kept values, in order). Only our
//! wasmtime backend serves WASI through these hooks; on the Extism backend a call's reads are
//! live and never recorded.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// One value a plugin read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntropyRead {
    /// The wall clock, in nanoseconds since the Unix epoch.
    Wall(u64),
    /// The monotonic clock, in nanoseconds since the instance started.
    Monotonic(u64),
    /// Bytes from the random source.
    Random(Vec<u8>),
}

/// How one call's clock and random reads are served.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Entropy {
    /// From the OS, not kept.
    #[default]
    Live,
    /// From the OS, each read kept in order.
    Record(Vec<EntropyRead>),
    /// From these values, in order. A read the recording does not have at that point (the
    /// plugin reads differently now) is served live and counted in `missed`, so a replay can
    /// say the plugin did not read what it read when recorded.
    Replay { reads: VecDeque<EntropyRead>, missed: u32 },
}

impl Entropy {
    /// A replay of `reads`.
    pub fn replay(reads: Vec<EntropyRead>) -> Entropy {
        Entropy::Replay { reads: reads.into(), missed: 0 }
    }

    /// The recorded reads (empty unless recording).
    pub fn into_reads(self) -> Vec<EntropyRead> {
        match self {
            Entropy::Record(reads) => reads,
            _ => Vec::new(),
        }
    }

    /// Reads a replay wanted and did not find (0 unless replaying): the recorded reads that
    /// were left over, plus those it had to serve live.
    pub fn replay_misses(&self) -> u32 {
        match self {
            Entropy::Replay { reads, missed } => missed + reads.len() as u32,
            _ => 0,
        }
    }

    /// A clock read: `live` is the OS's value, `wrap` makes a read of it, `unwrap` takes the
    /// value back out of a recorded read of the same kind.
    pub(crate) fn clock(&mut self, live: impl FnOnce() -> u64, wrap: fn(u64) -> EntropyRead, unwrap: fn(&EntropyRead) -> Option<u64>) -> u64 {
        match self {
            Entropy::Live => live(),
            Entropy::Record(reads) => {
                let value = live();
                reads.push(wrap(value));
                value
            }
            Entropy::Replay { reads, missed } => match reads.front().and_then(unwrap) {
                Some(value) => {
                    reads.pop_front();
                    value
                }
                None => {
                    *missed += 1;
                    live()
                }
            },
        }
    }

    /// A random read into `dest`: `live` fills it from the OS.
    pub(crate) fn random(&mut self, dest: &mut [u8], live: impl FnOnce(&mut [u8])) {
        match self {
            Entropy::Live => live(dest),
            Entropy::Record(reads) => {
                live(dest);
                reads.push(EntropyRead::Random(dest.to_vec()));
            }
            Entropy::Replay { reads, missed } => match reads.front() {
                Some(EntropyRead::Random(bytes)) if bytes.len() == dest.len() => {
                    dest.copy_from_slice(bytes);
                    reads.pop_front();
                }
                _ => {
                    *missed += 1;
                    live(dest);
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall(now: &mut Entropy, live: u64) -> u64 {
        now.clock(|| live, EntropyRead::Wall, |r| if let EntropyRead::Wall(v) = r { Some(*v) } else { None })
    }

    #[test]
    fn a_replay_serves_what_was_recorded_and_counts_what_it_lacks() {
        let mut recording = Entropy::Record(Vec::new());
        assert_eq!(wall(&mut recording, 7), 7);
        let mut bytes = [0u8; 3];
        recording.random(&mut bytes, |d| d.copy_from_slice(&[1, 2, 3]));
        let reads = recording.into_reads();
        assert_eq!(reads, vec![EntropyRead::Wall(7), EntropyRead::Random(vec![1, 2, 3])]);

        let mut replay = Entropy::replay(reads);
        assert_eq!(wall(&mut replay, 99), 7);
        let mut again = [0u8; 3];
        replay.random(&mut again, |d| d.fill(9));
        assert_eq!(again, [1, 2, 3]);
        assert_eq!(replay.replay_misses(), 0);
        assert_eq!(wall(&mut replay, 42), 42, "past the recording, reads are live");
        assert_eq!(replay.replay_misses(), 1);
    }
}
