//! End-to-end tests of the onprem provider against the emulator.
