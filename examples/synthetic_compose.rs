//! Prints the benchmark's synthetic compose project of N services (`cargo run --example
//! synthetic_compose -- 5000`), for `.ci/whole_process` to time the binary on.

#[path = "../benches/synthetic/mod.rs"]
mod synthetic;

fn main() {
    let count = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(500);
    print!("{}", synthetic::compose(count));
}
