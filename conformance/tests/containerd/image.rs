//! An OCI image archive of the test rootfs, for `ctr images import`.

use std::path::PathBuf;
use std::process::Command;

use super::harness::Containerd;

/// An OCI image archive of the busybox rootfs, made with tar and sha256sum.
pub(crate) fn image_archive(cd: &Containerd, name: &str) -> PathBuf {
    let work = cd.dir.path().join("image");
    let blobs = work.join("layout/blobs/sha256");
    std::fs::create_dir_all(&blobs).expect("blobs dir");
    let sh = |script: &str| {
        let out = Command::new("sh")
            .args(["-c", script])
            .output()
            .expect("sh");
        assert!(out.status.success(), "{script}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let w = work.display();
    sh(&format!("tar -C {} -cf {w}/layer.tar .", cd.rootfs()));
    // Store a blob under its digest; returns (digest, size).
    let blob = |file: &str| -> (String, u64) {
        let digest = sh(&format!("sha256sum {w}/{file} | cut -d' ' -f1"));
        let path = work.join(file);
        let size = std::fs::metadata(&path).expect("blob").len();
        std::fs::copy(&path, blobs.join(&digest)).expect("copy blob");
        (digest, size)
    };
    let (layer, layer_size) = blob("layer.tar");
    std::fs::write(
        work.join("config.json"),
        format!(
            r#"{{"architecture":"amd64","os":"linux","config":{{"Env":["PATH=/bin"]}},"rootfs":{{"type":"layers","diff_ids":["sha256:{layer}"]}}}}"#
        ),
    )
    .expect("config");
    let (config, config_size) = blob("config.json");
    std::fs::write(
        work.join("manifest.json"),
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{config}","size":{config_size}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:{layer}","size":{layer_size}}}]}}"#
        ),
    )
    .expect("manifest");
    let (manifest, manifest_size) = blob("manifest.json");
    std::fs::write(
        work.join("layout/index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{manifest}","size":{manifest_size},"platform":{{"architecture":"amd64","os":"linux"}},"annotations":{{"io.containerd.image.name":"{name}","org.opencontainers.image.ref.name":"latest"}}}}]}}"#
        ),
    )
    .expect("index");
    std::fs::write(
        work.join("layout/oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("oci-layout");
    sh(&format!("tar -C {w}/layout -cf {w}/image.tar ."));
    work.join("image.tar")
}
