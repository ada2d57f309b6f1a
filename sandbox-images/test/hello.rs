fn main() {
    let who = "rust";
    println!("hello from {}", who);
}
