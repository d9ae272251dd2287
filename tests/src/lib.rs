//! Helpers shared by the end-to-end tests (guest fixture, CLI runner).
