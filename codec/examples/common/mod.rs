//! What the experiments share: raw images named `NAME.WxHxC.raw`.

/// The pixels of `path` (8-bit, W×H×C in raster order) and (W, H, C) from its name.
pub fn read_raw(path: &str) -> (Vec<u8>, usize, usize, usize) {
    let dims: Vec<usize> = path
        .rsplit('.')
        .nth(1)
        .and_then(|d| d.split('x').map(|t| t.parse().ok()).collect())
        .filter(|d: &Vec<usize>| d.len() == 3)
        .unwrap_or_else(|| panic!("{path}: expected NAME.WxHxC.raw"));
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    (data, dims[0], dims[1], dims[2])
}
