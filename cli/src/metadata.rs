//! What an input image carries beside its pixels that changes how it is shown, an ICC colour
//! profile and EXIF data (its orientation among them): read from the input so that format
//! version 12 keeps it, and named in a warning where a file cannot keep it (an earlier format
//! version, an output format without room for it).

use image::metadata::Orientation;
use image::ImageDecoder;
use pixelrnn_codec::{MetaKind, Metadata};

/// What an input carries beside its pixels.
#[derive(Debug, Default, PartialEq)]
pub struct Carried {
    pub icc: Option<Vec<u8>>,
    pub exif: Option<Vec<u8>>,
    /// Its EXIF orientation asks for a rotation or a flip.
    pub orientation: bool,
}

impl Carried {
    /// What `decoder`'s image carries.
    pub fn of(decoder: &mut impl ImageDecoder) -> Carried {
        Carried {
            icc: decoder.icc_profile().ok().flatten().filter(|p| !p.is_empty()),
            exif: decoder.exif_metadata().ok().flatten().filter(|e| !e.is_empty()),
            orientation: decoder.orientation().is_ok_and(|o| o != Orientation::NoTransforms),
        }
    }

    /// The entries a version 12 header keeps (entries too large for it are left out).
    pub fn entries(&self) -> Vec<Metadata> {
        [(MetaKind::Icc, &self.icc), (MetaKind::Exif, &self.exif)]
            .into_iter()
            .filter_map(|(kind, d)| d.clone().map(|data| Metadata { kind, data }))
            .filter(|m| m.data.len() <= pixelrnn_codec::metadata::MAX_METADATA as usize)
            .collect()
    }

    /// What changes how the image is shown, were it lost: a profile other than sRGB's (which
    /// is what a picture without one is taken to be), an orientation that rotates.
    pub fn would_show(&self) -> NotKept {
        NotKept {
            icc_bytes: self.icc.as_ref().filter(|p| !is_srgb(p)).map(|p| p.len()),
            orientation: self.orientation,
        }
    }
}

/// What a file leaves out that changes how the image is shown.
#[derive(Debug, Default, PartialEq)]
pub struct NotKept {
    /// The size of the ICC colour profile left out.
    pub icc_bytes: Option<usize>,
    /// An EXIF orientation that rotates or flips, left out.
    pub orientation: bool,
}

impl NotKept {
    /// What of `entries` (a .prnn file's) changes how the image is shown.
    pub fn of_entries(entries: &[Metadata]) -> NotKept {
        let get = |k| entries.iter().find(|m| m.kind == k).map(|m| m.data.clone());
        let exif = get(MetaKind::Exif);
        Carried {
            icc: get(MetaKind::Icc),
            orientation: exif
                .as_deref()
                .and_then(Orientation::from_exif_chunk)
                .is_some_and(|o| o != Orientation::NoTransforms),
            exif,
        }
        .would_show()
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

    /// One warning each: `file` (what is written) cannot keep them, `why` says why.
    pub fn warnings(&self, file: &str, why: &str) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(n) = self.icc_bytes {
            v.push(format!(
                "{file} leaves out the ICC colour profile ({n} bytes) {why}: its colours will be \
                 read as sRGB"
            ));
        }
        if self.orientation {
            v.push(format!(
                "{file} leaves out the EXIF orientation {why}: the image will be shown as stored, \
                 not rotated or flipped"
            ));
        }
        v
    }
}

/// An entry's kind as `--json` names it, and as `info` shows it.
pub fn kind_names(k: MetaKind) -> (&'static str, &'static str) {
    match k {
        MetaKind::Icc => ("icc_profile", "ICC profile"),
        MetaKind::Exif => ("exif", "EXIF"),
    }
}

/// JSON names of a .prnn file's entries.
pub fn names(entries: &[Metadata]) -> Vec<&'static str> {
    entries.iter().map(|m| kind_names(m.kind).0).collect()
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
        let w = n.warnings("a.prnn", "(format version 11)");
        assert!(
            w[0].contains("a.prnn leaves out the ICC colour profile (3144 bytes) (format version 11)"),
            "{w:?}"
        );
        assert!(w[1].contains("EXIF orientation"), "{w:?}");
        assert!(NotKept::default().warnings("a", "").is_empty());
    }

    #[test]
    fn what_entries_would_show_differently() {
        let exif = |o: u8| {
            b"MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0"
                .iter()
                .copied()
                .chain([o, 0, 0, 0, 0, 0, 0])
                .collect::<Vec<u8>>()
        };
        let e = |kind, data| Metadata { kind, data };
        let n = NotKept::of_entries(&[
            e(MetaKind::Icc, profile("Display P3", false)),
            e(MetaKind::Exif, exif(6)),
        ]);
        assert_eq!((n.icc_bytes.is_some(), n.orientation), (true, true));
        let n = NotKept::of_entries(&[e(MetaKind::Icc, profile("sRGB", false)), e(MetaKind::Exif, exif(1))]);
        assert_eq!(n, NotKept::default());
        assert_eq!(names(&[e(MetaKind::Exif, exif(1))]), ["exif"]);
    }
}
