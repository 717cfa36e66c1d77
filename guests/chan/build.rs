include!("../rt/build_guest.rs");
