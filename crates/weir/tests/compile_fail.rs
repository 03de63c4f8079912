//! Typed composition: wrong connections between stages do not compile; and
//! a pipeline built but never awaited or run (a forgotten `.await`) is a
//! `#[must_use]` warning (`forgotten_await.rs` denies it, to test it).
//!
//! Each file in `tests/compile_fail/` makes one such mistake; its
//! `.stderr` file holds the type error the compiler reports for it
//! (regenerate with `TRYBUILD=overwrite cargo test -p weir --test compile_fail`
//! after a toolchain change, and check the errors are still type errors).

#[test]
fn wrong_connections_do_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/compile_fail/*.rs");
}
