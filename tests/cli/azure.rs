//! End-to-end tests of the azure provider against the emulator.
