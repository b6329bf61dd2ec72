//! Hostile at load time: `get_metadata` never returns. The host reads metadata under the same
//! limits as any call, so loading fails naming the time limit instead of hanging.

#[no_mangle]
pub extern "C" fn get_metadata() -> i32 {
    let mut spins = 0u64;
    loop {
        spins = std::hint::black_box(spins.wrapping_add(1));
    }
}

#[no_mangle]
pub extern "C" fn process() -> i32 {
    0
}
