//! Packs a bundle directory into one fuzz input (`name\0content\0…`):
//! `cargo run --bin pack_bundle -- BUNDLE_DIR OUT_FILE` seeds the
//! `bundle_verify` corpus from a real bundle (scripts/fuzz.sh does it).

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (dir, out) = (std::path::Path::new(&args[1]), &args[2]);
    let mut files = Vec::new();
    walk(dir, "", &mut files);
    files.sort();
    std::fs::write(out, offtake_fuzz::pack(&files)).unwrap();
}

fn walk(base: &std::path::Path, rel: &str, out: &mut Vec<(String, Vec<u8>)>) {
    for item in std::fs::read_dir(base.join(rel)).unwrap() {
        let item = item.unwrap();
        let name = item.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() { name } else { format!("{rel}/{name}") };
        if item.file_type().unwrap().is_dir() {
            walk(base, &path, out);
        } else {
            out.push((path.clone(), std::fs::read(base.join(&path)).unwrap()));
        }
    }
}
