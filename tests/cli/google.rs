//! End-to-end tests of the google provider against the emulator.
