//! Breaks the ABI on purpose: it exports `get_metadata` but no `process`.

use extism_pdk::Memory;

#[no_mangle]
pub extern "C" fn get_metadata() -> i32 {
    Memory::from_bytes(br#"{"component":"NoProcess"}"#).unwrap().set_output();
    0
}
