//! A hostile end of the bulk path (docs/abi.md, "Bulk input and output"): its
//! `__reflow_bulk_v1` answers with a valid mailbox while no input needs room, and with one
//! whose buffer lies outside the plugin's memory as soon as an input does; its `claim_output`
//! export claims an output outside its memory. The host must fail those calls, naming the
//! export, and touch nothing outside the plugin's memory. Uses the PDK directly, as the
//! breakage must be its own.

use extism_pdk::Memory;
use std::ptr::addr_of_mut;

#[repr(C)]
struct Mailbox {
    input_ptr: u32,
    input_cap: u32,
    input_len: u32,
    bulk_call: u32,
    output_ptr: u32,
    output_len: u32,
    output_set: u32,
}

static mut MAILBOX: Mailbox =
    Mailbox { input_ptr: 0, input_cap: 0, input_len: u32::MAX, bulk_call: 0, output_ptr: 0, output_len: 0, output_set: 0 };

#[no_mangle]
pub extern "C" fn __reflow_bulk_v1(reserve: i32) -> i32 {
    let mailbox = addr_of_mut!(MAILBOX);
    unsafe {
        if reserve > 0 {
            (*mailbox).input_ptr = 0xFFFF_0000;
            (*mailbox).input_cap = u32::MAX;
        }
    }
    mailbox as i32
}

#[no_mangle]
pub extern "C" fn get_metadata() -> i32 {
    let meta = br#"{"component":"BadBulk","inports":[{"name":"in","port_type":"Any"}],"outports":[{"name":"out","port_type":"Any"}]}"#;
    Memory::from_bytes(meta).unwrap().set_output();
    0
}

#[no_mangle]
pub extern "C" fn process() -> i32 {
    let input = extism_pdk::input_bytes();
    Memory::from_bytes(&input).unwrap().set_output();
    0
}

#[no_mangle]
pub extern "C" fn claim_output() -> i32 {
    let mailbox = addr_of_mut!(MAILBOX);
    unsafe {
        (*mailbox).output_ptr = 0xFFFF_FFF0;
        (*mailbox).output_len = 4096;
        (*mailbox).output_set = 1;
    }
    0
}
