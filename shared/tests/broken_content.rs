//! Hand-broken content under `tests/fixtures/broken/*` must produce exactly the problems in each
//! case's `expected.txt` (see the README there).

use harvest_shared::content::Content;
use harvest_shared::testing::fixture_files;
use std::path::Path;

#[test]
fn every_broken_fixture_reports_exactly_what_is_expected() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/broken");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 7, "{cases:?}");
    let mut failures = Vec::new();
    for case in cases {
        let mut files = fixture_files();
        for entry in std::fs::read_dir(&case).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            match name.as_str() {
                "expected.txt" => {}
                "DELETE" => text.lines().for_each(|f| {
                    files.remove(f.trim());
                }),
                _ => {
                    files.insert(name, text);
                }
            }
        }
        let expected = std::fs::read_to_string(case.join("expected.txt")).unwrap();
        let got = match Content::load_from(&files) {
            Ok(_) => "(loaded without errors)".to_owned(),
            Err(e) => e.to_string(),
        };
        if got.trim_end() != expected.trim_end() {
            failures.push(format!(
                "{}:\n--- expected\n{}\n--- got\n{}",
                case.display(),
                expected.trim_end(),
                got
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
