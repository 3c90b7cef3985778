//! End-to-end tests of the aws provider against the emulator.
