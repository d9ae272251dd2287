//! The tiny real guest builds and looks like a kernel + initramfs.

use oxvirt_tests::guest;

#[test]
fn guest_fixture_builds_a_bzimage_and_an_initramfs() {
    let g = guest();
    let kernel = std::fs::read(&g.kernel).unwrap();
    let initrd = std::fs::read(&g.initrd).unwrap();
    assert!(!kernel.is_empty(), "{} is empty", g.kernel.display());
    assert!(!initrd.is_empty(), "{} is empty", g.initrd.display());
    assert!(
        kernel.len() > 0x206 && &kernel[0x202..0x206] == b"HdrS",
        "{} is not a bzImage (no \"HdrS\" at 0x202)",
        g.kernel.display()
    );
    assert_eq!(
        &initrd[..2],
        &[0x1f, 0x8b],
        "{} is not gzip",
        g.initrd.display()
    );
    // Calling again is cheap and gives the same files.
    assert_eq!(guest(), g);
}
