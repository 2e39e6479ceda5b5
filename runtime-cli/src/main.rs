fn main() { skiff_core::init_if_requested(); }
