//! What `ualign bench` prints, before it is wired into the binary:
//! `cargo run --release -p ualign-benches --example bench -- N M K [SEED] [THREADS]`.

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse()
                .expect("arguments are integers: N M K [SEED] [THREADS]")
        })
        .collect();
    let arg = |i: usize, default: u64| args.get(i).copied().unwrap_or(default);
    let (n, m, k) = (
        arg(0, 9) as usize,
        arg(1, 10_335) as usize,
        arg(2, 4) as u32,
    );
    match ualign_benches::bench::run(n, m, k, arg(3, 1), arg(4, 1) as usize) {
        Ok(v) => println!("{v}"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
