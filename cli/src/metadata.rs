//! What an input image carries beside its pixels that changes how it is shown (an ICC colour
//! profile other than sRGB's, an EXIF orientation) and that a .prnn file does not keep, so that
//! `compress` can say so.

use image::metadata::Orientation;
use image::ImageDecoder;

/// What an input carries beside its pixels that changes how it is shown, and that a .prnn
/// file does not keep.
#[derive(Debug, Default, PartialEq)]
pub struct NotKept {
    /// The size of its ICC colour profile, unless the profile is sRGB's (which is what a
    /// picture without one is taken to be).
    pub icc_bytes: Option<usize>,
    /// Its EXIF orientation asks for a rotation or a flip.
    pub orientation: bool,
}

impl NotKept {
    /// What `decoder`'s image carries.
    pub fn of(decoder: &mut impl ImageDecoder) -> NotKept {
        NotKept {
            icc_bytes: decoder
                .icc_profile()
                .ok()
                .flatten()
                .filter(|p| !is_srgb(p))
                .map(|p| p.len()),
            orientation: decoder.orientation().is_ok_and(|o| o != Orientation::NoTransforms),
        }
    }

    /// Names for `--json`.
    pub fn names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.icc_bytes.is_some() {
            v.push("icc_profile");
        }
        if self.orientation {
            v.push("exif_orientation");
        }
        v
    }

    /// One warning each, about the input `name`.
    pub fn warnings(&self, name: &str) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(n) = self.icc_bytes {
            v.push(format!(
                "{name} carries an ICC colour profile ({n} bytes), which .prnn files do not keep: \
                 the decompressed image's colours will be read as sRGB"
            ));
        }
        if self.orientation {
            v.push(format!(
                "{name} asks (EXIF orientation) to be shown rotated or flipped, which .prnn files do \
                 not keep: the decompressed image will be shown as stored"
            ));
        }
        v
    }
}

/// Whether an ICC profile is an sRGB profile: its description (`desc`, ASCII in version 2
/// profiles, UTF-16 in version 4's `mluc`) names sRGB.
fn is_srgb(icc: &[u8]) -> bool {
    let u32_at = |at: usize| -> Option<usize> {
        Some(u32::from_be_bytes(icc.get(at..at.checked_add(4)?)?.try_into().ok()?) as usize)
    };
    let desc = || -> Option<&[u8]> {
        let tags = u32_at(128)?.min(1000);
        (0..tags).find_map(|i| {
            let at = 132 + 12 * i;
            (icc.get(at..at + 4)? == b"desc")
                .then(|| icc.get(u32_at(at + 4)?..u32_at(at + 4)?.checked_add(u32_at(at + 8)?)?))
                .flatten()
        })
    };
    desc().is_some_and(|d| d.windows(4).any(|w| w == b"sRGB") || d.windows(8).any(|w| w == b"\0s\0R\0G\0B"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A profile whose only tag is a `desc` of `text` (version 2 form, or UTF-16 for version 4).
    fn profile(text: &str, utf16: bool) -> Vec<u8> {
        let mut p = vec![0u8; 128];
        p.extend_from_slice(&1u32.to_be_bytes());
        let data: Vec<u8> = if utf16 {
            let mut d = b"mluc".to_vec();
            d.extend(text.encode_utf16().flat_map(|c| c.to_be_bytes()));
            d
        } else {
            let mut d = b"desc\0\0\0\0".to_vec();
            d.extend_from_slice(text.as_bytes());
            d
        };
        p.extend_from_slice(b"desc");
        p.extend_from_slice(&144u32.to_be_bytes());
        p.extend_from_slice(&(data.len() as u32).to_be_bytes());
        p.extend(data);
        p
    }

    #[test]
    fn srgb_profiles_are_told_by_their_description() {
        assert!(is_srgb(&profile("sRGB IEC61966-2.1", false)));
        assert!(is_srgb(&profile("sRGB built-in", true)));
        assert!(!is_srgb(&profile("Display P3", false)));
        assert!(!is_srgb(&profile("Adobe RGB (1998)", true)));
        let p = profile("sRGB", false);
        for n in 0..p.len() {
            assert!(!is_srgb(&p[..n]) || n == p.len(), "a truncated profile is not sRGB");
        }
        assert!(!is_srgb(&[]));
    }

    #[test]
    fn warnings_and_names_say_what_is_not_kept() {
        let n = NotKept {
            icc_bytes: Some(3144),
            orientation: true,
        };
        assert_eq!(n.names(), ["icc_profile", "exif_orientation"]);
        let w = n.warnings("a.jpg");
        assert!(
            w[0].contains("a.jpg carries an ICC colour profile (3144 bytes)"),
            "{w:?}"
        );
        assert!(w[1].contains("EXIF orientation"), "{w:?}");
        assert!(NotKept::default().warnings("a").is_empty());
    }
}
