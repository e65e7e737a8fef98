//! Where secrets come from. In production every secret is given through the environment or a
//! file (a mounted Kubernetes Secret). For local runs with no setup, a missing secret is
//! generated once into the data directory (mode 0600) and reused, so a sidecar and a shard
//! started separately on one machine agree without any flag.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};

/// How a secret was obtained (logged, never the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Env,
    File(PathBuf),
    DevGenerated(PathBuf),
    DevReused(PathBuf),
}

/// Resolve a 32-byte secret: hex text from `value` (env/flag), else hex text from `file`,
/// else the dev file `data_dir/dev_name`, created with fresh random bytes when missing.
pub fn resolve_key(
    what: &str,
    value: Option<&str>,
    file: Option<&Path>,
    data_dir: &Path,
    dev_name: &str,
) -> anyhow::Result<([u8; 32], Source)> {
    if let Some(v) = value {
        return Ok((parse_key(what, v)?, Source::Env));
    }
    if let Some(f) = file {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("cannot read {what} file {}", f.display()))?;
        return Ok((parse_key(what, &text)?, Source::File(f.to_path_buf())));
    }
    let path = data_dir.join(dev_name);
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return Ok((parse_key(what, &text)?, Source::DevReused(path)));
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
    let key: [u8; 32] = rand::random();
    if write_private(&path, &hex::encode(key))? {
        return Ok((key, Source::DevGenerated(path)));
    }
    // Another process (a shard beside a sidecar) created it first: use theirs.
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok((parse_key(what, &text)?, Source::DevReused(path)))
}

fn parse_key(what: &str, text: &str) -> anyhow::Result<[u8; 32]> {
    let bytes =
        hex::decode(text.trim()).with_context(|| format!("{what} must be 64 hex characters"))?;
    match <[u8; 32]>::try_from(bytes.as_slice()) {
        Ok(k) => Ok(k),
        Err(_) => bail!(
            "{what} must be 32 bytes (64 hex characters), got {} bytes",
            bytes.len()
        ),
    }
}

/// Create `path` with `text`, readable by the owner only. `Ok(false)` if it already existed.
fn write_private(path: &Path, text: &str) -> anyhow::Result<bool> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(mut f) => {
            f.write_all(text.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            f.sync_all().ok();
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_key_is_generated_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (a, sa) = resolve_key("k", None, None, dir.path(), "k.key").unwrap();
        let (b, sb) = resolve_key("k", None, None, dir.path(), "k.key").unwrap();
        assert_eq!(a, b);
        assert!(matches!(sa, Source::DevGenerated(_)));
        assert!(matches!(sb, Source::DevReused(_)));
    }

    #[test]
    fn explicit_values_win_and_bad_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let hex = "11".repeat(32);
        let (k, s) = resolve_key("netcode key", Some(&hex), None, dir.path(), "k.key").unwrap();
        assert_eq!(k, [0x11; 32]);
        assert_eq!(s, Source::Env);
        let err = resolve_key("netcode key", Some("abc"), None, dir.path(), "k.key").unwrap_err();
        assert!(format!("{err:#}").contains("netcode key"));
        let err = resolve_key("netcode key", Some("aa"), None, dir.path(), "k.key").unwrap_err();
        assert!(format!("{err:#}").contains("32 bytes"));
    }
}
